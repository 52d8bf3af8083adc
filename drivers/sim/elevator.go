package sim

import (
	"math/rand/v2"
	"time"
)

// Elevator codes, after common controller gateways.
const (
	serviceNormal       = 0
	serviceOutOfService = 3

	directionStopped = 0
	directionUp      = 1
	directionDown    = 2

	doorClosed = 0
	doorOpen   = 1

	faultCodeEntrapment = 21 // stopped outside the door zone with passengers
	faultCodeDoorLock   = 31 // door lock circuit open
)

// elevatorFloors is the number of landings served, 1 to 12.
const elevatorFloors = 12

// elevator phases of its simple cycle: wait, travel, doors open.
const (
	phaseIdle = iota
	phaseMoving
	phaseDoors
)

// secondsPerFloor is the travel time between landings.
const secondsPerFloor = 2.0

// elevator is a passenger car cycling between landings: it waits with doors
// closed, travels to a random landing, opens its doors, and counts trips and
// door cycles.
//
// Points: service_mode (0 normal, 1 inspection, 2 fire service, 3 out of
// service), direction (0 stopped, 1 up, 2 down), floor, door_state (0 closed,
// 1 open), door_open, car_occupied, entrapment, fault_code (0 none, 21
// entrapment, 31 door lock), trips, door_cycles and run_hours (counters).
type elevator struct {
	points
	phase  int
	left   float64 // seconds left in the phase, or to the next landing
	target int
}

func newElevator(rng *rand.Rand) *elevator {
	e := &elevator{points: newPoints(rng), phase: phaseIdle, left: 5}
	e.set("floor", 1)
	e.set("trips", float64(int(e.between(20000, 200000))))
	e.set("door_cycles", e.v["trips"]*2)
	e.set("run_hours", float64(int(e.between(2000, 20000))))
	for _, n := range []string{"service_mode", "direction", "door_state", "door_open",
		"car_occupied", "entrapment", "fault_code"} {
		e.set(n, 0)
	}
	return e
}

func (e *elevator) step(_ time.Time, dt time.Duration, active map[string]bool) {
	e.set("service_mode", serviceNormal)
	e.set("fault_code", 0)
	e.setBool("entrapment", false)
	switch {
	case active["entrapment"]:
		e.set("direction", directionStopped)
		e.setDoor(doorClosed)
		e.setBool("car_occupied", true)
		e.setBool("entrapment", true)
		e.set("fault_code", faultCodeEntrapment)
		return
	case active["door_fault"]:
		e.set("direction", directionStopped)
		e.setDoor(doorOpen)
		e.set("fault_code", faultCodeDoorLock)
		return
	case active["out_of_service"]:
		e.set("service_mode", serviceOutOfService)
		e.set("direction", directionStopped)
		e.setDoor(doorClosed)
		e.setBool("car_occupied", false)
		return
	}
	// Spend dt phase by phase; a long gap (a paused process) is capped so
	// one step stays cheap.
	for s := min(dt.Seconds(), 3600); s > 0; {
		used := min(s, e.left)
		if e.phase == phaseMoving {
			e.set("run_hours", e.v["run_hours"]+used/3600)
		}
		s -= used
		e.left -= used
		if e.left <= 0 {
			e.advance()
		}
	}
}

// advance ends the current phase (or one landing of travel) and starts the next.
func (e *elevator) advance() {
	floor := int(e.v["floor"])
	switch e.phase {
	case phaseIdle:
		e.target = floor
		for e.target == floor {
			e.target = 1 + e.rng.IntN(elevatorFloors)
		}
		e.setBool("car_occupied", e.rng.Float64() < 0.7)
		e.set("direction", directionUp)
		if e.target < floor {
			e.set("direction", directionDown)
		}
		e.phase, e.left = phaseMoving, secondsPerFloor
	case phaseMoving:
		if e.target > floor {
			floor++
		} else {
			floor--
		}
		e.set("floor", float64(floor))
		e.left = secondsPerFloor
		if floor == e.target {
			e.set("direction", directionStopped)
			e.set("trips", e.v["trips"]+1)
			e.set("door_cycles", e.v["door_cycles"]+1)
			e.setDoor(doorOpen)
			e.phase, e.left = phaseDoors, 5
		}
	case phaseDoors:
		e.setDoor(doorClosed)
		e.setBool("car_occupied", false)
		e.phase, e.left = phaseIdle, e.between(5, 30)
	}
}

func (e *elevator) setDoor(state int) {
	e.set("door_state", float64(state))
	e.setBool("door_open", state == doorOpen)
}
