package drivers

import (
	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/internal/yamlstrict"
)

// Profile describes one kind of device (a model of pump, meter, panel): its
// equipment type, which becomes the InfluxDB measurement, and its points. One
// profile serves every device of that model, over Modbus or MQTT.
type Profile struct {
	// Type is the equipment type: pump, elevator, fire_panel, energy_meter, ...
	Type        string `yaml:"type"`
	Description string `yaml:"description"`
	// Addressing says how point addresses are written: "wire" (0-based, as sent
	// on the wire; the default) or "reference" (1-based documentation numbers such
	// as 30001/40001, converted by the driver).
	Addressing Addressing `yaml:"addressing"`
	Points     []Point    `yaml:"points"`
}

// Point is one named value of a device.
type Point struct {
	Name string `yaml:"name"`
	// Label and LabelZh are what the dashboard shows for the point, in
	// English and Simplified Chinese; the name when unset.
	Label   string `yaml:"label"`
	LabelZh string `yaml:"label_zh"`
	// Register is where a Modbus point lives: holding, input, coil or discrete.
	Register RegisterKind `yaml:"register"`
	// Address is the register or bit address (see Profile.Addressing).
	Address uint32 `yaml:"address"`
	// Type is the data type; it decides how many registers the point spans.
	Type DataType `yaml:"type"`
	// Bit selects one bit (0 = least significant) of a register, for Type bit.
	Bit int `yaml:"bit"`
	// Length is the number of registers of a string point.
	Length int `yaml:"length"`
	// ByteOrder of multi-register values; ABCD (big-endian, high word first) by default.
	ByteOrder ByteOrder `yaml:"byte_order"`
	// Scale multiplies the raw value (0 means 1); Offset is added afterwards.
	Scale  float64 `yaml:"scale"`
	Offset float64 `yaml:"offset"`
	Unit   string  `yaml:"unit"`
	// Counter marks monotonically increasing totals (energy, run hours, trips).
	Counter bool `yaml:"counter"`
	// Enum maps integer codes to text (modes, fault codes).
	Enum map[int64]string `yaml:"enum"`
	// Path locates the value in an MQTT JSON payload.
	Path string `yaml:"path"`
}

// ValueKind tells which kind of Value a point produces, for type-checking rule
// expressions: bool and bit points are booleans, strings and enumerations
// text, everything else numbers.
func (p *Point) ValueKind() Kind {
	switch {
	case p.Type == TypeBool || p.Type == TypeBit:
		return KindBool
	case p.Type == TypeString || len(p.Enum) > 0:
		return KindString
	}
	return KindFloat
}

// Point returns the point with the given name, or nil.
func (p *Profile) Point(name string) *Point {
	for i := range p.Points {
		if p.Points[i].Name == name {
			return &p.Points[i]
		}
	}
	return nil
}

// RegisterKind is the Modbus table a point is read from.
type RegisterKind string

// Register kinds.
const (
	Holding  RegisterKind = "holding"
	Input    RegisterKind = "input"
	Coil     RegisterKind = "coil"
	Discrete RegisterKind = "discrete"
)

// RegisterKinds lists the valid register kinds.
var RegisterKinds = []string{string(Holding), string(Input), string(Coil), string(Discrete)}

// UnmarshalYAML accepts only the known register kinds.
func (r *RegisterKind) UnmarshalYAML(n *yaml.Node) error {
	s, err := yamlstrict.Enum(n, "register", RegisterKinds...)
	*r = RegisterKind(s)
	return err
}

// IsBit reports whether the table holds single bits (coils, discrete inputs).
func (r RegisterKind) IsBit() bool { return r == Coil || r == Discrete }

// DataType is how register contents are decoded.
type DataType string

// Data types.
const (
	TypeBool    DataType = "bool"
	TypeBit     DataType = "bit"
	TypeInt16   DataType = "int16"
	TypeUint16  DataType = "uint16"
	TypeInt32   DataType = "int32"
	TypeUint32  DataType = "uint32"
	TypeInt64   DataType = "int64"
	TypeUint64  DataType = "uint64"
	TypeFloat32 DataType = "float32"
	TypeFloat64 DataType = "float64"
	TypeString  DataType = "string"
)

// DataTypes lists the valid data types.
var DataTypes = []string{"bool", "bit", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "string"}

// UnmarshalYAML accepts only the known data types.
func (t *DataType) UnmarshalYAML(n *yaml.Node) error {
	s, err := yamlstrict.Enum(n, "type", DataTypes...)
	*t = DataType(s)
	return err
}

// Registers returns how many 16-bit registers a value of this type spans
// (strings: length); bit tables use 1.
func (t DataType) Registers(length int) int {
	switch t {
	case TypeInt32, TypeUint32, TypeFloat32:
		return 2
	case TypeInt64, TypeUint64, TypeFloat64:
		return 4
	case TypeString:
		return max(length, 1)
	}
	return 1
}

// ByteOrder is the order of bytes in a multi-register value, written as the
// letters of a big-endian value ABCD as they arrive on the wire.
type ByteOrder string

// Byte orders.
const (
	ABCD ByteOrder = "ABCD" // big-endian, high word first (most meters)
	DCBA ByteOrder = "DCBA" // little-endian
	BADC ByteOrder = "BADC" // bytes swapped within each word
	CDAB ByteOrder = "CDAB" // low word first
)

// ByteOrders lists the valid byte orders.
var ByteOrders = []string{string(ABCD), string(DCBA), string(BADC), string(CDAB)}

// UnmarshalYAML accepts only the known byte orders.
func (b *ByteOrder) UnmarshalYAML(n *yaml.Node) error {
	s, err := yamlstrict.Enum(n, "byte order", ByteOrders...)
	*b = ByteOrder(s)
	return err
}

// Addressing says whether addresses are wire addresses or 1-based references.
type Addressing string

// Addressing modes.
const (
	Wire      Addressing = "wire"
	Reference Addressing = "reference"
)

// UnmarshalYAML accepts wire or reference.
func (a *Addressing) UnmarshalYAML(n *yaml.Node) error {
	s, err := yamlstrict.Enum(n, "addressing", Wire, Reference)
	*a = s
	return err
}
