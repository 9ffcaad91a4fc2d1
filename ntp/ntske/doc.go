// Package ntske is the I/O shell of gnomon's NTS server: the NTS-KE server
// (RFC 8915 §4) and the master-key file with its rotation schedule. The NTP
// side (cookies, authenticators) is the sans-IO ntp/nts; both share one
// nts.Core, whose Ring the KeyStore replaces on rotation or reload.
//
// # NTS-KE server
//
// TLS 1.3 only (crypto/tls), ALPN ntske/1, TCP 4460 by default; keys come
// from the TLS exporter (label EXPORTER-network-time-security, context
// protocol 0 ‖ AEAD 15 ‖ 0 or 1). A request must hold exactly one Next
// Protocol and one AEAD Algorithm record and end with End of Message; an
// unknown critical record is Error 0, other faults (duplicates, Error or
// Warning records from the client, no End of Message, a request over
// MaxRequest bytes) Error 1, a failure to seal cookies Error 2. A client that
// offers no NTPv4 gets an empty Next Protocol record, one that offers no AEAD
// 15 an empty AEAD record (chrony answers the same way). Otherwise: NTPv4,
// AEAD 15, optional NTPv4 Server and Port records, 8 cookies. The server
// sends no Warning records (RFC 8915 defines no warning codes). Limits:
// MaxConnections at once (more are closed on accept and counted), one
// deadline (Timeout) over handshake, request and response, MaxRequest
// bytes. Counters: Stats.
//
// facebook/time/ntp/ntske has a server too; it is not used: it has no
// connection limit, reads requests up to 64 KiB, takes its cookies from a
// Keystore interface that allocates per cookie and keys cookies with
// AES-SIV-CMAC-512 per cookie instance, and its in-memory keystore has no
// persistence. Its client is used in the tests.
//
// # Key file
//
// The master keys (nts.KeySet, text format in ntp/nts) live in one file,
// readable only by gnomond: LoadKeyFile refuses a file with any group or
// other permission bit, SaveKeyFile writes a 0600 temporary file in the same
// directory, syncs it and renames it into place, so a reader never sees half
// a file. Errors name the path. A restart loads the file, so cookies issued
// before it stay valid.
//
// KeyStore is the schedule. With Rotate > 0 it is the writer: it creates the
// file if missing, rotates when due (the next key becomes current, a new next
// key is drawn, Keep previous keys stay accepted) and saves. If saving fails
// (full disk, read-only or missing directory) it logs the error and keeps
// serving the new keys from memory. Between rotations the writer checks its
// file every Reload (1 min): a file removed or broken is written again from
// the keys in use, an unsaved rotation is saved again (so a full disk heals
// once space is freed). With Rotate = 0 it is a reader: it reloads the file
// when its content changes (checked every Reload), keeping its keys if the
// file is missing or broken. Failures are counted (KeyStats: save and reload
// errors, whether the file holds the keys in use) and logged once per new
// error; repeats are logged at Debug. Several servers share keys by
// sharing the file: one writer rotates, the others read; or an external
// program writes the file and every gnomond reads (chrony's ntsrotate 0). A
// writer draws the next key one period before sealing with it, so readers
// that reload within a period already hold it.
package ntske
