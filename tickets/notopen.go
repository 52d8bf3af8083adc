package tickets

// NotOpen reports whether err is, in every part of it, the store not open
// yet (ErrNotOpen, however wrapped or joined): what a component reading
// the store while OpenWaiting keeps trying need not log at each attempt,
// since the store logs the first failure and the recovery itself. An error
// with any other part is not NotOpen, and is worth its line.
func NotOpen(err error) bool {
	switch e := err.(type) {
	case nil:
		return false
	case interface{ Unwrap() []error }:
		errs := e.Unwrap()
		for _, part := range errs {
			if part != nil && !NotOpen(part) {
				return false
			}
		}
		return len(errs) > 0
	case interface{ Unwrap() error }:
		return NotOpen(e.Unwrap())
	}
	return err == ErrNotOpen
}
