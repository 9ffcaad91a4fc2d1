package client

import (
	"context"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
)

// NSources is N_SOURCES: how many sources the daemon has.
func (c *Client) NSources(ctx context.Context) (uint32, error) {
	b, _, err := c.Do(ctx, wire.CmdNSources, nil, wire.RpyNSources)
	if err != nil {
		return 0, err
	}
	n, err := wire.ParseNSources(b)
	return n.N, err
}

// SourceData is SOURCE_DATA for source index i.
func (c *Client) SourceData(ctx context.Context, i uint32) (wire.SourceData, error) {
	b, _, err := c.Do(ctx, wire.CmdSourceData, &wire.IndexRequest{Index: int32(i)}, wire.RpySourceData)
	if err != nil {
		return wire.SourceData{}, err
	}
	return wire.ParseSourceData(b)
}

// Tracking is TRACKING.
func (c *Client) Tracking(ctx context.Context) (wire.Tracking, error) {
	b, _, err := c.Do(ctx, wire.CmdTracking, nil, wire.RpyTracking)
	if err != nil {
		return wire.Tracking{}, err
	}
	return wire.ParseTracking(b)
}

// SourceStats is SOURCESTATS for source index i.
func (c *Client) SourceStats(ctx context.Context, i uint32) (wire.SourceStats, error) {
	b, _, err := c.Do(ctx, wire.CmdSourceStats, &wire.IndexRequest{Index: int32(i)}, wire.RpySourceStats)
	if err != nil {
		return wire.SourceStats{}, err
	}
	return wire.ParseSourceStats(b)
}

// SelectData is SELECT_DATA for source index i.
func (c *Client) SelectData(ctx context.Context, i uint32) (wire.SelectData, error) {
	b, _, err := c.Do(ctx, wire.CmdSelectData, &wire.IndexRequest{Index: int32(i)}, wire.RpySelectData)
	if err != nil {
		return wire.SelectData{}, err
	}
	return wire.ParseSelectData(b)
}

// NTPData is NTP_DATA for the source at addr, asked with room for
// NTP_DATA2; v2 says the reply was NTP_DATA2 (with the kernel and hardware
// timestamp totals) rather than chrony ≤ 4.5's NTP_DATA.
func (c *Client) NTPData(ctx context.Context, addr wire.IPAddr) (d wire.NTPData, v2 bool, err error) {
	b, t, err := c.Do(ctx, wire.CmdNTPData, &wire.AddrRequest{Addr: addr}, wire.RpyNTPData2, wire.RpyNTPData)
	if err != nil {
		return wire.NTPData{}, false, err
	}
	d, err = wire.ParseNTPData(b)
	return d, t == wire.RpyNTPData2, err
}

// ServerStats is SERVER_STATS, asked with room for SERVER_STATS4; v4 says
// the reply was SERVER_STATS4 (with the timestamp counters) rather than
// chrony 4.2–4.3's SERVER_STATS3.
func (c *Client) ServerStats(ctx context.Context) (s wire.ServerStats, v4 bool, err error) {
	b, t, err := c.Do(ctx, wire.CmdServerStats, nil, wire.RpyServerStats4, wire.RpyServerStats3)
	if err != nil {
		return wire.ServerStats{}, false, err
	}
	s, err = wire.ParseServerStats(b)
	return s, t == wire.RpyServerStats4, err
}

// ClientAccesses is one page of CLIENT_ACCESSES_BY_INDEX3.
func (c *Client) ClientAccesses(ctx context.Context, r wire.ClientAccessesRequest) (wire.ClientAccesses, error) {
	b, _, err := c.Do(ctx, wire.CmdClientAccessesByIndex3, &r, wire.RpyClientAccessesByIndex3)
	if err != nil {
		return wire.ClientAccesses{}, err
	}
	return wire.ParseClientAccesses(b)
}

// Activity is ACTIVITY.
func (c *Client) Activity(ctx context.Context) (wire.Activity, error) {
	b, _, err := c.Do(ctx, wire.CmdActivity, nil, wire.RpyActivity)
	if err != nil {
		return wire.Activity{}, err
	}
	return wire.ParseActivity(b)
}

// Burst is BURST: sources matching Addr under Mask (both unspecified:
// all) take NGood good samples in at most NTotal requests.
func (c *Client) Burst(ctx context.Context, r wire.BurstRequest) error {
	_, _, err := c.Do(ctx, wire.CmdBurst, &r, wire.RpyNull)
	return err
}

// MakeStep is MAKESTEP: step the clock now by the remaining correction.
func (c *Client) MakeStep(ctx context.Context) error {
	_, _, err := c.Do(ctx, wire.CmdMakestep, nil, wire.RpyNull)
	return err
}

// ResetSources is RESET_SOURCES: drop every source's samples.
func (c *Client) ResetSources(ctx context.Context) error {
	_, _, err := c.Do(ctx, wire.CmdResetSources, nil, wire.RpyNull)
	return err
}
