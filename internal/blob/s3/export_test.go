package s3

import (
	"net/http"
	"time"
)

// SignForTest returns the Authorization header that the signer computes
// for a GET of rawURL with a Range header and an empty payload.
func SignForTest(rawURL, rng, accessKey, secretKey, region string, at time.Time) string {
	r, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		panic(err)
	}
	r.Header.Set("Range", rng)
	c := &client{region: region, accessKey: accessKey, secretKey: secretKey}
	c.sign(r, r.URL.EscapedPath(), emptyHash, at)
	return r.Header.Get("Authorization")
}
