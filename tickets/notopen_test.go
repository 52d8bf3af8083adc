package tickets

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestNotOpen(t *testing.T) {
	other := errors.New("disk full")
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{other, false},
		{ErrNotOpen, true},
		{fmt.Errorf("tickets: list: %w", ErrNotOpen), true},
		{errors.Join(fmt.Errorf("a: %w", ErrNotOpen), fmt.Errorf("b: %w", ErrNotOpen)), true},
		{errors.Join(fmt.Errorf("a: %w", ErrNotOpen), other), false},
		{fmt.Errorf("x: %w", errors.Join(ErrNotOpen, fmt.Errorf("y: %w", other))), false},
		{errors.New(ErrNotOpen.Error()), false}, // the same words are not the store's error
	} {
		if got := NotOpen(tc.err); got != tc.want {
			t.Errorf("NotOpen(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestNotOpenOfAStoreWaiting: what the methods of a store that OpenWaiting
// has not opened yet return is NotOpen.
func TestNotOpenOfAStoreWaiting(t *testing.T) {
	s, err := newStore("postgres://nobody@127.0.0.1:1/none", Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.db.Close()
	defer s.setup.Close()
	ctx := context.Background()
	_, err1 := s.OpenKeys(ctx, SourceRule)
	_, err2 := s.List(ctx, Filter{OpenOnly: true})
	_, err3 := s.InspectionStates(ctx, "")
	for i, err := range []error{err1, err2, err3} {
		if !NotOpen(err) {
			t.Errorf("call %d: %v is not NotOpen", i+1, err)
		}
	}
}
