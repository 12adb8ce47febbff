package workflow

// HoldUploadChecks takes every upload-check slot of s, so that uploads
// wait, until release is called.
func HoldUploadChecks(s *Service) (release func()) {
	for range cap(s.checks) {
		s.checks <- struct{}{}
	}
	return func() {
		for range cap(s.checks) {
			<-s.checks
		}
	}
}
