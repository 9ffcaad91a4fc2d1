package bad

import "os"

// Exit is built on Windows only; its import is still checked.
func Exit() { os.Exit(1) }
