package server

import "runtime/debug"

// Version says what this binary is: the module version, the commit and the
// time it was built from (as the go command recorded them), and Go's
// version.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "conveyor (no build information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	line := "conveyor " + v
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		if settings["vcs.modified"] == "true" {
			rev += " (modified)"
		}
		line += ", commit " + rev
	}
	if t := settings["vcs.time"]; t != "" {
		line += ", built from a commit of " + t
	}
	return line + ", " + bi.GoVersion
}
