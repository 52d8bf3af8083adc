package mqtt

import "github.com/facilityd/facilityd/drivers"

func testProfile() *drivers.Profile {
	return &drivers.Profile{Type: "sensor", Points: []drivers.Point{{Name: "temperature", Unit: "°C"}}}
}
