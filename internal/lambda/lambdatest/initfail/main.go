// Command initfail is a custom runtime that cannot start: it reports its init error to the
// Runtime API (POST init/error), as a runtime whose initialization failed does, and exits.
package main

import (
	"net/http"
	"os"
	"strings"
)

func main() {
	url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"errorMessage":"the config file is missing","errorType":"Init.MissingConfig"}`))
	if err == nil {
		resp.Body.Close()
	}
	os.Exit(1)
}
