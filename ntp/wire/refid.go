package wire

// RefIDString renders a reference ID the way chronyc does for stratum 0/1 and
// KoD codes: up to 4 printable ASCII characters, NULs dropped.
func RefIDString(id uint32) string {
	var b [4]byte
	n := 0
	for i := 3; i >= 0; i-- {
		c := byte(id >> (8 * i))
		if c == 0 {
			continue
		}
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		b[n] = c
		n++
	}
	return string(b[:n])
}

// KissCode is the Reference ID of a Kiss-o'-Death reply (stratum 0, RFC 5905
// §7.4): four ASCII characters, big-endian. Codes are compared as numbers;
// String renders one for logs.
type KissCode uint32

// Kiss codes of RFC 5905 §7.4 (Figure 13) and NTSN of RFC 8915 §5.7. The
// server core sends RATE (and the NTS core NTSN); the
// client core acts on RATE (back off) and DENY and RSTR (demobilise) and
// ignores the others.
const (
	KissACST KissCode = 0x41435354 // "ACST": the association belongs to a unicast server
	KissAUTH KissCode = 0x41555448 // "AUTH": server authentication failed
	KissAUTO KissCode = 0x4155544f // "AUTO": Autokey sequence failed
	KissBCST KissCode = 0x42435354 // "BCST": the association belongs to a broadcast server
	KissCRYP KissCode = 0x43525950 // "CRYP": cryptographic authentication or identification failed
	KissDENY KissCode = 0x44454e59 // "DENY": access denied by the server: stop
	KissDROP KissCode = 0x44524f50 // "DROP": lost peer in symmetric mode
	KissRSTR KissCode = 0x52535452 // "RSTR": access denied due to local policy: stop
	KissINIT KissCode = 0x494e4954 // "INIT": the association has not yet synchronised for the first time
	KissMCST KissCode = 0x4d435354 // "MCST": the association belongs to a dynamically discovered server
	KissNKEY KissCode = 0x4e4b4559 // "NKEY": no key found
	KissNTSN KissCode = 0x4e54534e // "NTSN": NTS negative acknowledgement: the cookie was not accepted (RFC 8915 §5.7)
	KissRATE KissCode = 0x52415445 // "RATE": rate exceeded: reduce your polling rate
	KissRMOT KissCode = 0x524d4f54 // "RMOT": alteration of association from a remote host running ntpdc
	KissSTEP KissCode = 0x53544550 // "STEP": a step change in system time has occurred
)

// String renders k as its four characters ("RATE"), every byte outside
// printable ASCII, NUL included, as '?'. Unlike RefIDString it always gives
// four characters, so a damaged code is visible as such.
func (k KissCode) String() string {
	b := [4]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b[:])
}
