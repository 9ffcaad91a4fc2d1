// Package clientlog is the NTP server's client log: two fixed-size tables
// shared by all packet workers (one goroutine per SO_REUSEPORT socket). It
// serves two purposes:
//
//   - per-client response rate limiting, with chrony's ratelimit semantics
//     (interval, burst, leak, kod; reference/ntp.md §3, chrony.conf(5)
//     "ratelimit"), in per-address records;
//   - interleaved mode (RFC 9769, reference/ntp.md §2): per association, the
//     Receive field of the last reply to an interleaved-form request and,
//     once the shell learns it, that reply's accurate transmit timestamp,
//     keyed by the Receive field itself.
//
// It does not parse packets, decide whether a request is interleaved, apply
// ACLs or send anything; the ntp core does that with the Hit it gets back.
// It is pure: no I/O, no clock reads (time comes in as nowNS, Unix ns), no
// goroutines, no allocation on the packet path.
//
// # Tables and memory
//
// Config.Clients sizes both tables, so memory is Clients × BytesPerClient
// (64 B; plus at most 8 KiB of counter shards): 256 KiB for the default
// 4096, 1 GiB for the maximum 2^24.
//
// Address records (SlotBytes = 48 B: counters, token bucket, interval
// estimate) form 4-way set-associative buckets of three cache lines,
// indexed by a seeded hash of the address (Config.Seed; the daemon should
// pass a random seed so that remote hosts cannot choose addresses that land
// in one bucket). A new address replaces an empty slot of its bucket, else
// the least recently used one (by last request time); evictions are
// counted. IPv4-mapped IPv6 addresses are stored as IPv4; zones are ignored.
//
// Timestamp entries (StampBytes = 16 B: the Receive field, and a 32-bit
// tag of the client address with the transmit timestamp as a 32-bit offset
// from the Receive field, at most 1 s) form 4-way buckets of one cache
// line. A Receive field has two candidate buckets (two-choice hashing of
// the field and the address hash): it is held in a free entry of the
// emptier one, else in place of the oldest held entry of both (by Receive
// field: an association that has moved on, gone, or lost a reply). So the
// state of one client with one association is 48 + 16 = 64 B, and an
// address with n associations behind it (NAT) costs 48 + 16·n B.
//
// Measured in TestStampsFull (uniform polling, random order): with
// associations at 25 % of Clients every reply after the first is
// interleaved, at 50 % 99.7 %, at 75 % 90 %, at 100 % 64 %, at 200 % 15 %.
// Size Clients to at least twice the number of interleaved associations.
//
// # Eviction
//
// When a bucket pair is full the oldest held timestamp is replaced. Its
// association's next request finds nothing for its Origin and gets one
// basic reply; that reply's Receive field is held as usual, so the request
// after it is interleaved again (TestStampCollisions). Only an
// oversubscribed table (more associations than entries can hold between
// two polls) makes an association fall back repeatedly. Evicting an
// address record loses only its counters and rate-limit state: its
// associations' timestamps are kept apart and survive.
//
// # Concurrency
//
// Every address record carries a sequence word: even = free, odd = a writer holds it.
// A writer takes a slot with one compare-and-swap from the even value it saw
// while looking the address up; if that fails (another worker is writing
// the same slot, or the bucket is being changed) it does not spin or wait:
// Hit returns Decision Allow with Contended set and records nothing in the
// address record (the timestamps are still handled). Both are counted (Stats.Contended). Readers (Range,
// At) copy a slot and retry if the sequence word moved (a seqlock). All slot
// fields are sync/atomic values, so the scheme is race-free in the Go memory
// model and under -race. An insertion re-checks the other slots of the
// bucket while holding its victim and backs off if any is busy or already
// holds the address, so one address never occupies two slots. Counters live
// in 64-byte shards selected by bucket, not in one shared word.
//
// # Rate limiting
//
// Each client has a token bucket of Burst tokens refilled at one token per
// 2^IntervalLog2 s, implemented as a theoretical arrival time (GCRA): a
// request conforms if the bucket holds a token, and then takes it. A new
// client starts with a full bucket, so its first Burst requests at the same
// instant are allowed and the next one is not; one interval later one more
// is allowed. A request over the limit:
//
//  1. is answered normally (Allow) with probability 2^-Leak, so that an
//     attacker spoofing a victim's address cannot silence the victim;
//     leaked replies take no token;
//  2. otherwise, if KoD > 0, is answered with a RATE kiss-o'-death (Decision
//     KoD) with probability 2^-KoD — the KoD replaces a drop (our reading
//     of chrony's "kod" option) and never replaces a leaked real reply;
//  3. otherwise is dropped (Decision Drop).
//
// So over the limit P(Allow) = 2^-Leak, P(KoD) = (1−2^-Leak)·2^-KoD and
// P(Drop) = the rest. The random draw is splitmix64 of the seed, the address
// hash, nowNS and the client's hit count: deterministic for tests, no shared
// state between workers. If nowNS goes backwards by more than the bucket can
// explain (a clock step), the bucket is treated as just emptied rather than
// locking the client out until time catches up. chrony's suspension of
// limiting for clients that poll faster when unanswered is not implemented.
// Unlike chrony below interval −4, the bucket is exact to the nanosecond at
// every interval. With limiting disabled every request is allowed and still
// recorded (hits, interval estimate, interleaved pair).
//
// # Interleaved timestamps
//
// Hit takes an Exchange: zero for a request in basic form (nothing looked
// up or held: basic clients do not use timestamp entries), else the
// request's Origin and the Receive field of the reply being built. With
// Decision Allow it hands out the transmit timestamp held for Origin
// (Hit.PrevTX) and frees that entry, so a timestamp is never replayed, then
// holds the new Receive field; a KoD or a Drop leaves the entries alone.
// RecordTX fills the transmit timestamp of a held Receive field. Lookups
// check the address tag: an Origin echoed from another address (a foreign
// or guessed one) gets nothing and leaves the owner's entry in place. Since
// only interleaved-form requests hold an entry, a chronyd xleave client's
// third reply is its first interleaved one, as from chronyd. RFC 9769 pairs
// a transmit timestamp with the Receive field of its reply, so an older
// entry that is still held is as correct as the newest.
//
// Entries take no sequence word: the Receive field is key and lock at once
// (0 free, odd held, even = a writer's), so a writer claims an entry with
// one compare-and-swap and never waits; if it loses, the association gets
// one basic reply (Stats.TimestampsContended). Workers serving
// associations behind one address do not share an entry, only the address
// record.
//
// # Reports
//
// ClientLogStats fills the counters of report.ServerStats (metrics, chronyc
// serverstats); Clients pages through the records by slot index for chronyc
// clients (CLIENT_ACCESSES_BY_INDEX), with At's seqlock reads; a row's
// Interleaved means its latest request was in interleaved form. Per-client
// counters cannot be reset. Stats counts the timestamps held (fills minus
// frees, for chronyc's "NTP timestamps held"), evicted, served and
// contended; these are not yet in report.ClientLogStats or the metrics.
package clientlog
