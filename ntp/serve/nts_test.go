package serve

import (
	"crypto/rand"
	"encoding/binary"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/nts"
	"github.com/gnomon-time/gnomon/ntp/nts/ntstest"
)

// ntsPair is a one-worker service with NTS and a client session of cookies
// sealed with its ring.
func ntsPair(t *testing.T, batch int) (*worker, *hwts.Conn, *ntstest.Session, []hwts.Message) {
	t.Helper()
	var mk [nts.MasterKeyLen]byte
	mk[0] = 7
	ring, err := nts.NewRing(nts.NewKeySet(time.Now(), mk, mk))
	if err != nil {
		t.Fatal(err)
	}
	w, cl, server := loopbackPairOpts(t, testOpts{workers: 1, batch: batch, nts: nts.NewCore(ring, rand.Reader)})
	if w.nts == nil {
		t.Fatal("worker without its nts.Worker")
	}
	var keys [nts.SessionKeysLen]byte
	keys[5] = 9
	sess, err := ntstest.NewSession(ring, keys, batch)
	if err != nil {
		t.Fatal(err)
	}
	req := clientBatch(batch, server, true)
	for i := range req {
		// chronyd's form: 16-byte nonce; half of them with 7 placeholders.
		hdr := req[i].Buf[:48]
		req[i].Buf = sess.Request(ntstest.Spec{Header: hdr, NonceLen: 16, Placeholders: 7 * (i % 2)})
		req[i].N = len(req[i].Buf)
	}
	return w, cl, sess, req
}

// One worker iteration over a batch of NTS requests (half in interleaved
// form, half with 7 placeholders) — RespondAuth with the worker's
// nts.Worker, transmit stamp, Seal (cookie open, authenticator, 1 or 8
// fresh cookies), sendmmsg, TX-stamp drain — allocates nothing; every
// reply opens with the session's S2C key, echoes the Unique Identifier,
// carries 1 + placeholders cookies and is no longer than its request.
func TestWorkerStepNTSZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	const batch = 8
	w, cl, sess, req := ntsPair(t, batch)
	rep := make([]hwts.Message, batch)
	for i := range rep {
		rep[i].Buf = make([]byte, bufSize)
	}
	round := func() {
		if _, err := cl.WriteBatch(req); err != nil {
			t.Fatal(err)
		}
		stepAll(t, w, batch)
		for got := 0; got < batch; {
			n, err := cl.ReadBatch(rep[got:])
			if err != nil {
				t.Fatal(err)
			}
			got += n
		}
	}
	round()
	for i := range rep {
		r := rep[i].Buf[:rep[i].N]
		// Replies come back in request order over loopback; match by
		// Origin (the request's Transmit) to be safe.
		j := -1
		for k := range req {
			if binary.BigEndian.Uint64(req[k].Buf[40:]) == binary.BigEndian.Uint64(r[24:]) {
				j = k
			}
		}
		if j < 0 {
			t.Fatalf("reply %d answers no request", i)
		}
		if len(r) > req[j].N {
			t.Fatalf("reply of %d bytes to a %d-byte request", len(r), req[j].N)
		}
		cookies, err := sess.OpenReply(r, req[j].Buf[:req[j].N])
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		if want := 1 + 7*(j%2); len(cookies) != want {
			t.Errorf("reply to request %d: %d cookies, want %d", j, len(cookies), want)
		}
	}
	if allocs := testing.AllocsPerRun(100, round); allocs != 0 {
		t.Errorf("%v allocations per batch of %d NTS requests", allocs, batch)
	}
	var st Stats
	w.ctr.addTo(&st)
	addNTS(w.nts, &st)
	if st.NTSAuthenticated != 102*batch || st.NTSVerdicts[nts.VerdictAuthentic] != 102*batch {
		t.Errorf("nts authenticated %d, authentic verdicts %d, want %d", st.NTSAuthenticated, st.NTSVerdicts[nts.VerdictAuthentic], 102*batch)
	}
	if st.Authenticated != 0 || st.NTSNAKs != 0 || st.SealFailed != 0 {
		t.Errorf("mac %d, naks %d, seal failed %d: want 0", st.Authenticated, st.NTSNAKs, st.SealFailed)
	}
}

// A batch mixing authentic NTS requests, forged ones, stale cookies and
// plain NTP: each gets what RespondAuth's rule 5 says, counted by verdict.
func TestWorkerStepNTSMixed(t *testing.T) {
	const batch = 4
	w, cl, _, req := ntsPair(t, batch)
	// 0: authentic; 1: forged (dropped); 2: damaged cookie (NAK); 3: plain.
	req[1].Buf[req[1].N-1] ^= 1
	req[2].Buf[48+4+32+4+40] ^= 1
	req[3].N = 48
	if _, err := cl.WriteBatch(req); err != nil {
		t.Fatal(err)
	}
	stepAll(t, w, batch)
	rep := make([]hwts.Message, batch)
	for i := range rep {
		rep[i].Buf = make([]byte, bufSize)
	}
	for got := 0; got < 3; {
		n, err := cl.ReadBatch(rep[got:])
		if err != nil {
			t.Fatal(err)
		}
		got += n
	}
	var st Stats
	w.ctr.addTo(&st)
	addNTS(w.nts, &st)
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"served", st.Requests[ntp.VerdictServed] + st.Requests[ntp.VerdictInterleaved], 2},
		{"auth_failed", st.Requests[ntp.VerdictAuthFailed], 1},
		{"nts_nak", st.Requests[ntp.VerdictNTSNAK], 1},
		{"nts authenticated", st.NTSAuthenticated, 1},
		{"nts naks sent", st.NTSNAKs, 1},
		{"nts bad_authenticator", st.NTSVerdicts[nts.VerdictBadAuthenticator], 1},
		{"nts nak_bad_cookie", st.NTSVerdicts[nts.VerdictNAKBadCookie], 1},
		{"nts none", st.NTSVerdicts[nts.VerdictNone], 1},
		{"replies", st.Replies, 3},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}
