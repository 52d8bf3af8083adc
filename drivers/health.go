package drivers

// HealthMeasurement is the measurement of the samples in which a driver says
// how each of its devices is doing, one set per device per tick (Modbus) or
// health interval (MQTT). Every driver writes the points HealthUp,
// HealthErrors and HealthSkipped, and HealthLatency while the device is up;
// a driver may add points of its own (see its package documentation).
const HealthMeasurement = "device_health"

// Points of HealthMeasurement that every driver writes.
const (
	// HealthUp (bool) is whether the device is answering: online or degraded.
	HealthUp = "up"
	// HealthLatency (float, milliseconds) is how long the device took, as the
	// driver measures it; written only while the device is up.
	HealthLatency = "latency_ms"
	// HealthErrors (int) counts the device's problems since start.
	HealthErrors = "errors"
	// HealthSkipped (int) counts what the driver had to leave out since start.
	HealthSkipped = "skipped"
	// HealthState (string) is the device's Status as text, from drivers
	// that write it (Modbus).
	HealthState = "state"
)

// Status is how a device is doing, as the drivers report it in their device
// states and the API shows it. What makes a device degraded or offline is up
// to its driver.
type Status string

// Statuses, shared by all drivers.
const (
	// StatusUnknown: the driver has not heard from the device yet.
	StatusUnknown Status = "unknown"
	// StatusOnline: the device answers and everything it sent was read.
	StatusOnline Status = "online"
	// StatusDegraded: the device answers, but some of what it sent failed.
	StatusDegraded Status = "degraded"
	// StatusOffline: the device does not answer.
	StatusOffline Status = "offline"
)

// Up reports whether a device with status s is answering: online or degraded.
func (s Status) Up() bool { return s == StatusOnline || s == StatusDegraded }
