package client

import (
	"context"
	"encoding/binary"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
)

// Request lengths: the request data padded to the reply's length
// (pktlength.c), for the newest reply type the client knows.
const (
	lenNSources       = 32
	lenSourceData     = 76
	lenTracking       = 104
	lenSourceStats    = 84
	lenSelectData     = 76
	lenActivity       = 48
	lenServerStats    = 196 // SERVER_STATS4
	lenNTPData        = 172 // NTP_DATA2
	lenClientAccesses = 520
	lenNull           = 28
	lenBurst          = 68
)

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// NSources is N_SOURCES: how many sources the daemon has.
func (c *Client) NSources(ctx context.Context) (uint32, error) {
	b, _, err := c.Do(ctx, wire.CmdNSources, nil, lenNSources, wire.RpyNSources)
	if err != nil {
		return 0, err
	}
	n, err := wire.DecodeNSources(b)
	return n.N, err
}

// SourceData is SOURCE_DATA for source index i.
func (c *Client) SourceData(ctx context.Context, i uint32) (wire.SourceData, error) {
	b, _, err := c.Do(ctx, wire.CmdSourceData, u32(i), lenSourceData, wire.RpySourceData)
	if err != nil {
		return wire.SourceData{}, err
	}
	return wire.DecodeSourceData(b)
}

// Tracking is TRACKING.
func (c *Client) Tracking(ctx context.Context) (wire.Tracking, error) {
	b, _, err := c.Do(ctx, wire.CmdTracking, nil, lenTracking, wire.RpyTracking)
	if err != nil {
		return wire.Tracking{}, err
	}
	return wire.DecodeTracking(b)
}

// SourceStats is SOURCESTATS for source index i.
func (c *Client) SourceStats(ctx context.Context, i uint32) (wire.SourceStats, error) {
	b, _, err := c.Do(ctx, wire.CmdSourceStats, u32(i), lenSourceStats, wire.RpySourceStats)
	if err != nil {
		return wire.SourceStats{}, err
	}
	return wire.DecodeSourceStats(b)
}

// SelectData is SELECT_DATA for source index i.
func (c *Client) SelectData(ctx context.Context, i uint32) (wire.SelectData, error) {
	b, _, err := c.Do(ctx, wire.CmdSelectData, u32(i), lenSelectData, wire.RpySelectData)
	if err != nil {
		return wire.SelectData{}, err
	}
	return wire.DecodeSelectData(b)
}

// NTPData is NTP_DATA for the source at addr; v2 says the reply was
// NTP_DATA2 (with the kernel and hardware timestamp totals).
func (c *Client) NTPData(ctx context.Context, addr wire.IPAddr) (d wire.NTPData, v2 bool, err error) {
	b, t, err := c.Do(ctx, wire.CmdNTPData, wire.AppendIPAddr(nil, addr), lenNTPData, wire.RpyNTPData2, wire.RpyNTPData)
	if err != nil {
		return wire.NTPData{}, false, err
	}
	v2 = t == wire.RpyNTPData2
	d, err = wire.DecodeNTPData(b, v2)
	return d, v2, err
}

// ServerStats is SERVER_STATS; v4 says the reply was SERVER_STATS4 (with
// the timestamp counters) rather than SERVER_STATS3.
func (c *Client) ServerStats(ctx context.Context) (s wire.ServerStats, v4 bool, err error) {
	b, t, err := c.Do(ctx, wire.CmdServerStats, nil, lenServerStats, wire.RpyServerStats4, wire.RpyServerStats3)
	if err != nil {
		return wire.ServerStats{}, false, err
	}
	v4 = t == wire.RpyServerStats4
	s, err = wire.DecodeServerStats(b, v4)
	return s, v4, err
}

// ClientAccesses is one page of CLIENT_ACCESSES_BY_INDEX3.
func (c *Client) ClientAccesses(ctx context.Context, r wire.ClientAccessesRequest) (wire.ClientAccesses, error) {
	body := append(append(append(u32(r.FirstIndex), u32(r.NClients)...), u32(r.MinHits)...), u32(r.Reset)...)
	b, _, err := c.Do(ctx, wire.CmdClientAccessesByIndex3, body, lenClientAccesses, wire.RpyClientAccessesByIndex3)
	if err != nil {
		return wire.ClientAccesses{}, err
	}
	return wire.DecodeClientAccesses(b)
}

// Activity is ACTIVITY.
func (c *Client) Activity(ctx context.Context) (wire.Activity, error) {
	b, _, err := c.Do(ctx, wire.CmdActivity, nil, lenActivity, wire.RpyActivity)
	if err != nil {
		return wire.Activity{}, err
	}
	return wire.DecodeActivity(b)
}

// Burst is BURST: sources matching addr under mask (both unspecified:
// all) take nGood good samples in at most nTotal requests.
func (c *Client) Burst(ctx context.Context, r wire.BurstRequest) error {
	body := wire.AppendIPAddr(wire.AppendIPAddr(nil, r.Mask), r.Addr)
	body = append(append(body, u32(uint32(r.NGood))...), u32(uint32(r.NTotal))...)
	_, _, err := c.Do(ctx, wire.CmdBurst, body, lenBurst, wire.RpyNull)
	return err
}

// MakeStep is MAKESTEP: step the clock now by the remaining correction.
func (c *Client) MakeStep(ctx context.Context) error {
	_, _, err := c.Do(ctx, wire.CmdMakestep, nil, lenNull, wire.RpyNull)
	return err
}

// ResetSources is RESET_SOURCES: drop every source's samples.
func (c *Client) ResetSources(ctx context.Context) error {
	_, _, err := c.Do(ctx, wire.CmdResetSources, nil, lenNull, wire.RpyNull)
	return err
}
