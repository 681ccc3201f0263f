package options

import "errors"

// Error is a rejected options component.
type Error struct {
	// Option is the component's name ("w", "e", …). It is empty when the
	// component has no name (no underscore, or nothing before it); Value
	// then holds the whole component.
	Option string
	// Value is the raw value as given in the URL.
	Value string
	// Reason says what is wrong, for a 400 body.
	Reason string
}

func (e *Error) Error() string {
	switch {
	case e.Option != "":
		return "options: " + e.Option + "_" + e.Value + ": " + e.Reason
	case e.Value != "":
		return "options: " + e.Value + ": " + e.Reason
	default:
		return "options: " + e.Reason
	}
}

// ErrEmpty is returned by Parse for an empty options string.
var ErrEmpty = errors.New("options: empty")
