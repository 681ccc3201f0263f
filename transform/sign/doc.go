// Package sign signs and verifies /t/<options>/<key> URLs.
//
// A signature is the first Config.Length characters (default 16, that is
// 96 bits) of the unpadded base64url HMAC-SHA256 of
//
//	o.Unsigned().String() + "/" + key
//
// under the secret of the key named by kid_, or of the first configured key
// when the URL has no kid_. Because it covers the canonical form, the order
// of the URL's components does not matter, while every option that changes
// the output, and exp_ and kid_ themselves, is covered. The canonical form
// never contains '/', so the message splits into options and key in only
// one way. A t_ preset is signed in its expanded form: changing a preset's
// definition invalidates the URLs signed for it, which is what a changed
// variant should do.
//
// Several keys may be configured at once for rotation: add the new key
// after the old, hand out URLs with kid_<new>, then move the new key first
// and finally drop the old one.
//
// Verify compares in constant time and checks exp_ only after the
// signature, so that an unsigned URL learns nothing about expiry handling.
package sign
