// Package client is a cmdmon (chrony control protocol v6) client as
// chronyc behaves: over UDP (default port 323) or a Unix datagram socket,
// whose server replies to the sender's address, so the client binds its
// own socket at a unique path in os.TempDir (mode 0666, removed on Close;
// not an abstract autobind address: chronyd reads the sender's sun_path as
// a C string and cannot answer an abstract one).
//
// A reply is accepted only if its version, packet type, reserved bytes,
// command and sequence match the request and it is at least as long as
// the stated reply type; otherwise the client keeps waiting. A request is
// resent after 1 s, 2 s and 4 s (chronyc's initial timeout of 1000 ms,
// doubling, 2 retries) with a new random sequence number and attempt+1;
// when the last attempt times out the client moves to the next address,
// and after the last one fails with "506 Cannot talk to daemon". A status
// other than SUCCESS is a *wire.StatusError whose text is chronyc's ("501 Not
// authorised"); a reply of an unexpected type is ErrBadReply ("508 Bad
// reply from daemon").
//
// Requests are padded to the length of the newest reply the client knows
// (SERVER_STATS4, NTP_DATA2) and older reply types (SERVER_STATS3,
// NTP_DATA, as chrony 4.3 sends them) are accepted too.
//
// Calls are context-aware and start no goroutine that outlives them. A
// Client is not safe for concurrent use.
package client
