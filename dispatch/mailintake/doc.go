// Package mailintake turns a raw e-mail (RFC 5322 with MIME) into the few
// fields a report needs: who sent it, its subject, its readable text and a
// stable Message-ID for de-duplication, and whether a machine sent it (an
// out-of-office answer, a bounce, a read receipt) rather than a person.
//
// It is pure and never panics on any input. It is lenient where real mail is
// sloppy (mislabelled charsets, broken quoted-printable, unterminated
// multiparts, junk header lines) and strict only where nothing useful can be
// recovered: see ErrTooLarge, ErrNoFrom, ErrNoBody and ParseError.
//
// Text is decoded from quoted-printable and base64 and from utf-8,
// us-ascii, iso-8859-1, windows-1252 and the other WHATWG encodings
// to UTF-8. Unlabelled or mislabelled 8-bit text that is not valid UTF-8 is
// read as windows-1252, the usual case for Spanish mail from older clients.
package mailintake
