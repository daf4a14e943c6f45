package notify

import "os"

// osHostname is os.Hostname (a variable for tests).
var osHostname = os.Hostname
