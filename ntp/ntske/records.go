package ntske

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gnomon-time/gnomon/ntp/nts"
)

// NTS-KE record types (RFC 8915 §4.1) and error codes (§4.1.3).
const (
	RecEndOfMessage uint16 = 0
	RecNextProtocol uint16 = 1
	RecError        uint16 = 2
	RecWarning      uint16 = 3
	RecAEAD         uint16 = 4
	RecNewCookie    uint16 = 5
	RecNTPv4Server  uint16 = 6
	RecNTPv4Port    uint16 = 7

	ErrCodeUnrecognizedCritical uint16 = 0
	ErrCodeBadRequest           uint16 = 1
	ErrCodeInternal             uint16 = 2

	criticalBit = 0x8000
	recHeader   = 4

	// NextProtocolNTPv4 is the Next Protocol ID of NTPv4.
	NextProtocolNTPv4 uint16 = 0
	// ALPN is the TLS application protocol of NTS-KE.
	ALPN = "ntske/1"
	// DefaultPort is NTS-KE's TCP port.
	DefaultPort = 4460

	exporterLabel = "EXPORTER-network-time-security"
)

// Errors of ReadMessage.
var (
	ErrTooLong   = errors.New("ntske: request longer than the limit")
	ErrTruncated = errors.New("ntske: connection closed inside a record")
)

// ReadMessage reads records from r up to and including End of Message and
// returns them as one byte slice, or an error once more than max bytes
// arrive without one (records are read whole, so the bound holds before
// any body is read).
func ReadMessage(r io.Reader, max int) ([]byte, error) {
	var msg []byte
	for {
		if len(msg)+recHeader > max {
			return nil, ErrTooLong
		}
		var h [recHeader]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = ErrTruncated
			}
			return nil, err
		}
		l := int(binary.BigEndian.Uint16(h[2:]))
		if len(msg)+recHeader+l > max {
			return nil, ErrTooLong
		}
		msg = append(msg, h[:]...)
		start := len(msg)
		msg = append(msg, make([]byte, l)...)
		if _, err := io.ReadFull(r, msg[start:]); err != nil {
			return nil, ErrTruncated
		}
		if binary.BigEndian.Uint16(h[:])&^criticalBit == RecEndOfMessage {
			return msg, nil
		}
	}
}

// request is what a client asked for.
type request struct {
	ntpv4  bool // NTPv4 among the next protocols
	aead15 bool // AES-SIV-CMAC-256 among the AEAD algorithms
}

// protoError is a request the server answers with an Error record.
type protoError struct {
	code uint16
	msg  string
}

func (e *protoError) Error() string { return fmt.Sprintf("error code %d: %s", e.code, e.msg) }

func bad(format string, a ...any) *protoError {
	return &protoError{code: ErrCodeBadRequest, msg: fmt.Sprintf(format, a...)}
}

// parseRequest checks a client's message (RFC 8915 §4.1): records inside
// the message, End of Message last (empty), exactly one Next Protocol and
// one AEAD Algorithm record (u16 lists), no Error or Warning records (a
// client must not send them); an unknown record with the critical bit is
// error 0, anything else unknown or meant for clients (New Cookie, server,
// port) is ignored. It never panics.
func parseRequest(msg []byte) (request, *protoError) {
	var r request
	var sawNext, sawAEAD, sawEnd bool
	for off := 0; off < len(msg); {
		if sawEnd {
			return r, bad("records after End of Message")
		}
		if len(msg)-off < recHeader {
			return r, bad("truncated record header")
		}
		t := binary.BigEndian.Uint16(msg[off:])
		l := int(binary.BigEndian.Uint16(msg[off+2:]))
		body := msg[off+recHeader:]
		if l > len(body) {
			return r, bad("record type %d: body of %d bytes, %d left", t&^criticalBit, l, len(body))
		}
		body = body[:l]
		off += recHeader + l
		switch typ := t &^ criticalBit; typ {
		case RecEndOfMessage:
			if l != 0 {
				return r, bad("End of Message with a body")
			}
			sawEnd = true
		case RecNextProtocol, RecAEAD:
			if l%2 != 0 {
				return r, bad("record type %d: odd body length %d", typ, l)
			}
			seen, want := &sawNext, NextProtocolNTPv4
			if typ == RecAEAD {
				seen, want = &sawAEAD, nts.AEADAESSIVCMAC256
			}
			if *seen {
				return r, bad("record type %d twice", typ)
			}
			*seen = true
			for i := 0; i < l; i += 2 {
				if binary.BigEndian.Uint16(body[i:]) == want {
					if typ == RecAEAD {
						r.aead15 = true
					} else {
						r.ntpv4 = true
					}
				}
			}
		case RecError, RecWarning:
			return r, bad("client sent record type %d", typ)
		case RecNewCookie, RecNTPv4Server, RecNTPv4Port:
		default:
			if t&criticalBit != 0 {
				return r, &protoError{code: ErrCodeUnrecognizedCritical, msg: fmt.Sprintf("unrecognised critical record type %d", typ)}
			}
		}
	}
	switch {
	case !sawEnd:
		return r, bad("no End of Message")
	case !sawNext:
		return r, bad("no Next Protocol Negotiation record")
	case r.ntpv4 && !sawAEAD:
		return r, bad("no AEAD Algorithm Negotiation record")
	}
	return r, nil
}

// appendRecord appends one record.
func appendRecord(b []byte, typ uint16, critical bool, body ...byte) []byte {
	if critical {
		typ |= criticalBit
	}
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...)
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// errorResponse is an Error record and End of Message.
func errorResponse(code uint16) []byte {
	return appendRecord(appendRecord(nil, RecError, true, u16(code)...), RecEndOfMessage, true)
}

// exporter is tls.ConnectionState.ExportKeyingMaterial.
type exporter func(label string, context []byte, length int) ([]byte, error)

// respondParams is what a response needs besides the request.
type respondParams struct {
	ring    *nts.Ring
	cookies int
	server  string // NTPv4 Server record; "" = none
	port    uint16 // NTPv4 Port record; 0 = none
	rand    io.Reader
}

// respond answers one request message: the response records, the number
// of cookies in it, and an error describing a refused request (the
// response is then an Error record, or an empty Next Protocol / AEAD record
// when the client offered nothing this server supports, as RFC 8915 §4.1.2
// and §4.1.5 ask). It never panics.
func respond(msg []byte, export exporter, p respondParams) ([]byte, int, error) {
	req, perr := parseRequest(msg)
	if perr != nil {
		return errorResponse(perr.code), 0, perr
	}
	if !req.ntpv4 {
		return appendRecord(appendRecord(nil, RecNextProtocol, true), RecEndOfMessage, true), 0,
			errors.New("no supported next protocol offered")
	}
	b := appendRecord(nil, RecNextProtocol, true, u16(NextProtocolNTPv4)...)
	if !req.aead15 {
		return appendRecord(appendRecord(b, RecAEAD, false), RecEndOfMessage, true), 0,
			errors.New("no supported AEAD algorithm offered")
	}
	b = appendRecord(b, RecAEAD, false, u16(nts.AEADAESSIVCMAC256)...)
	var keys [nts.SessionKeysLen]byte
	for dir := range 2 {
		ctx := []byte{0, 0, 0, byte(nts.AEADAESSIVCMAC256), byte(dir)} // NTPv4, AEAD 15, C2S (0) / S2C (1)
		k, err := export(exporterLabel, ctx, nts.SessionKeysLen/2)
		if err != nil || len(k) != nts.SessionKeysLen/2 {
			return errorResponse(ErrCodeInternal), 0, fmt.Errorf("export keys: %v", err)
		}
		copy(keys[dir*nts.SessionKeysLen/2:], k)
	}
	if p.server != "" {
		b = appendRecord(b, RecNTPv4Server, false, []byte(p.server)...)
	}
	if p.port != 0 {
		b = appendRecord(b, RecNTPv4Port, false, u16(p.port)...)
	}
	if p.ring == nil {
		return errorResponse(ErrCodeInternal), 0, errors.New("no master keys")
	}
	var cookie [nts.CookieLen]byte
	var nonce [16]byte
	for range p.cookies {
		if _, err := io.ReadFull(p.rand, nonce[:]); err != nil {
			return errorResponse(ErrCodeInternal), 0, fmt.Errorf("random: %w", err)
		}
		if err := p.ring.SealCookie(cookie[:], &keys, &nonce); err != nil {
			return errorResponse(ErrCodeInternal), 0, fmt.Errorf("seal cookie: %w", err)
		}
		b = appendRecord(b, RecNewCookie, false, cookie[:]...)
	}
	return appendRecord(b, RecEndOfMessage, true), p.cookies, nil
}
