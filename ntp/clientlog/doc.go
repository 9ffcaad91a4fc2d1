// Package clientlog is the NTP server's client log: a fixed-size table of
// per-address records shared by all packet workers (one goroutine per
// SO_REUSEPORT socket). It serves two purposes:
//
//   - per-client response rate limiting, with chrony's ratelimit semantics
//     (interval, burst, leak, kod; reference/ntp.md §3, chrony.conf(5)
//     "ratelimit");
//   - interleaved mode (RFC 9769, reference/ntp.md §2): for each client it
//     holds the Receive field of the last reply and, once the shell learns
//     it, that reply's accurate transmit timestamp.
//
// It does not parse packets, decide whether a request is interleaved, apply
// ACLs or send anything; the ntp core does that with the Hit it gets back.
// It is pure: no I/O, no clock reads (time comes in as nowNS, Unix ns), no
// goroutines, no allocation on the packet path.
//
// # Table and memory
//
// The table has Config.Clients slots of exactly 64 bytes (one cache line),
// so it takes Clients × 64 B (plus at most 4 KiB of counter shards): 256 KiB
// for the default 4096 clients, 1 GiB for the maximum 2^24. Slots form 4-way
// set-associative buckets indexed by a seeded hash of the address
// (Config.Seed; the daemon should pass a random seed so that remote hosts
// cannot choose addresses that land in one bucket). A new address replaces
// an empty slot of its bucket, else the least recently used one (by last
// request time); evictions are counted.
// IPv4-mapped IPv6 addresses are stored as IPv4; zones are ignored.
//
// # Concurrency
//
// Every slot carries a sequence word: even = free, odd = a writer holds it.
// A writer takes a slot with one compare-and-swap from the even value it saw
// while looking the address up; if that fails (another worker is writing
// the same slot, or the bucket is being changed) it does not spin or wait:
// Hit returns Decision Allow with Contended set and records nothing, and
// RecordTX returns false. Both are counted (Stats.Contended). Readers (Range,
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
// # Interleaved pair
//
// Hit with Decision Allow or KoD returns the stored (RX, TX) pair and
// replaces it with (rx, 0): a pair is handed out at most once, so a
// timestamp is never replayed. RecordTX fills TX only while rx is still the
// client's latest RX. A dropped request leaves the pair alone. The first
// request from an address creates its record and gets an empty pair (Found
// false); evicting a record loses its pair.
//
// # Reports
//
// ClientLogStats fills the counters of report.ServerStats (metrics, chronyc
// serverstats); Clients pages through the records by slot index for chronyc
// clients (CLIENT_ACCESSES_BY_INDEX), with At's seqlock reads. Per-client
// counters cannot be reset, and nothing counts the interleaved pairs held
// (chronyc's "NTP timestamps held"): that would take a scan of every slot.
package clientlog
