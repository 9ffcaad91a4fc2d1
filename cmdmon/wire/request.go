package wire

import "fmt"

// A RequestBody is the data of a request. PutRequest writes it into pkt,
// a whole request packet, from byte 20 on (the header is left alone);
// pkt must reach the end of the data (ErrShort otherwise). ForCommand
// reports whether cmd carries this body.
type RequestBody interface {
	PutRequest(pkt []byte) error
	ForCommand(cmd Command) bool
}

// AppendRequest appends a whole request of command cmd as chronyc 4.6+
// sends it: a version-6 header with seq and attempt, body (nil for
// commands without data), zero padding to RequestLen(cmd) — the length a
// current chronyd requires, which every chronyd ≥ 4.2 accepts too (a
// longer request is fine; only a shorter one is refused). For SERVER_STATS
// and NTP_DATA that is 196 and 172 bytes, so the reply is SERVER_STATS4 or
// NTP_DATA2 from a current server and SERVER_STATS3 or NTP_DATA from an
// older one: decode by the reply's type. dst is returned unchanged on
// error.
func AppendRequest(dst []byte, cmd Command, seq uint32, attempt uint16, body RequestBody) ([]byte, error) {
	n, ok := RequestLen(cmd)
	if !ok {
		return dst, fmt.Errorf("%v: no request length known", cmd)
	}
	return AppendRequestLen(dst, n, cmd, seq, attempt, body)
}

// AppendRequestLen is AppendRequest padded to n bytes instead (at least
// the end of the command's data, at most MaxRequestLen): e.g. 72 for
// SERVER_STATS and 152 for NTP_DATA, as chronyc 4.3 sends them, to test a
// server's handling of old clients.
func AppendRequestLen(dst []byte, n int, cmd Command, seq uint32, attempt uint16, body RequestBody) ([]byte, error) {
	d, ok := RequestDataLen(cmd)
	if !ok {
		return dst, fmt.Errorf("%v: no request layout known", cmd)
	}
	if n < max(d, MinRequestLen) || n > MaxRequestLen {
		return dst, fmt.Errorf("%v request of %d bytes, want %d to %d: %w", cmd, n, max(d, MinRequestLen), MaxRequestLen, ErrValue)
	}
	hasData := d > RequestHeaderLen
	if hasData != (body != nil) || (body != nil && !body.ForCommand(cmd)) {
		return dst, fmt.Errorf("%v request with body %T: %w", cmd, body, ErrValue)
	}
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	pkt := dst[start:]
	NewRequestHeader(cmd, seq, attempt).Put(pkt)
	if body != nil {
		if err := body.PutRequest(pkt); err != nil {
			return dst[:start], err
		}
	}
	return dst, nil
}

func reqRoom(pkt []byte, end int, what string) error {
	if len(pkt) < end {
		return fmt.Errorf("%s request in %d bytes, want %d: %w", what, len(pkt), end, ErrShort)
	}
	return nil
}

// PutRequest implements RequestBody: index (i32) at 20.
func (r *IndexRequest) PutRequest(pkt []byte) error {
	if err := reqRoom(pkt, 24, "index"); err != nil {
		return err
	}
	be.PutUint32(pkt[20:], uint32(r.Index))
	return nil
}

// ForCommand implements RequestBody: SOURCE_DATA, SOURCESTATS, SELECT_DATA.
func (r *IndexRequest) ForCommand(cmd Command) bool {
	return cmd == CmdSourceData || cmd == CmdSourceStats || cmd == CmdSelectData
}

// ParseIndexRequest decodes the body of a SOURCE_DATA, SOURCESTATS or
// SELECT_DATA request packet.
func ParseIndexRequest(pkt []byte) (IndexRequest, error) {
	if err := reqRoom(pkt, 24, "index"); err != nil {
		return IndexRequest{}, err
	}
	return IndexRequest{Index: int32(be.Uint32(pkt[20:]))}, nil
}

// PutRequest implements RequestBody: IPAddr at 20.
func (r *AddrRequest) PutRequest(pkt []byte) error {
	if err := reqRoom(pkt, 40, "address"); err != nil {
		return err
	}
	r.Addr.Put(pkt[20:])
	return nil
}

// ForCommand implements RequestBody: NTP_DATA, NTP_SOURCE_NAME.
func (r *AddrRequest) ForCommand(cmd Command) bool {
	return cmd == CmdNTPData || cmd == CmdNTPSourceName
}

// ParseAddrRequest decodes the body of an NTP_DATA or NTP_SOURCE_NAME
// request packet.
func ParseAddrRequest(pkt []byte) (AddrRequest, error) {
	if err := reqRoom(pkt, 40, "address"); err != nil {
		return AddrRequest{}, err
	}
	return AddrRequest{Addr: ParseIPAddr(pkt[20:])}, nil
}

// PutRequest implements RequestBody: mask at 20, address at 40, n_good
// and n_total (i32) at 60 and 64.
func (r *BurstRequest) PutRequest(pkt []byte) error {
	if err := reqRoom(pkt, 68, "burst"); err != nil {
		return err
	}
	r.Mask.Put(pkt[20:])
	r.Addr.Put(pkt[40:])
	be.PutUint32(pkt[60:], uint32(r.NGood))
	be.PutUint32(pkt[64:], uint32(r.NTotal))
	return nil
}

// ForCommand implements RequestBody: BURST.
func (r *BurstRequest) ForCommand(cmd Command) bool { return cmd == CmdBurst }

// ParseBurstRequest decodes the body of a BURST request packet.
func ParseBurstRequest(pkt []byte) (BurstRequest, error) {
	if err := reqRoom(pkt, 68, "burst"); err != nil {
		return BurstRequest{}, err
	}
	return BurstRequest{
		Mask: ParseIPAddr(pkt[20:]), Addr: ParseIPAddr(pkt[40:]),
		NGood: int32(be.Uint32(pkt[60:])), NTotal: int32(be.Uint32(pkt[64:])),
	}, nil
}

// PutRequest implements RequestBody: first_index, n_clients, min_hits,
// reset (u32) at 20, 24, 28, 32.
func (r *ClientAccessesRequest) PutRequest(pkt []byte) error {
	if err := reqRoom(pkt, 36, "clients"); err != nil {
		return err
	}
	be.PutUint32(pkt[20:], r.FirstIndex)
	be.PutUint32(pkt[24:], r.NClients)
	be.PutUint32(pkt[28:], r.MinHits)
	be.PutUint32(pkt[32:], r.Reset)
	return nil
}

// ForCommand implements RequestBody: CLIENT_ACCESSES_BY_INDEX3.
func (r *ClientAccessesRequest) ForCommand(cmd Command) bool {
	return cmd == CmdClientAccessesByIndex3
}

// ParseClientAccessesRequest decodes the body of a
// CLIENT_ACCESSES_BY_INDEX3 request packet.
func ParseClientAccessesRequest(pkt []byte) (ClientAccessesRequest, error) {
	if err := reqRoom(pkt, 36, "clients"); err != nil {
		return ClientAccessesRequest{}, err
	}
	return ClientAccessesRequest{
		FirstIndex: be.Uint32(pkt[20:]), NClients: be.Uint32(pkt[24:]),
		MinHits: be.Uint32(pkt[28:]), Reset: be.Uint32(pkt[32:]),
	}, nil
}
