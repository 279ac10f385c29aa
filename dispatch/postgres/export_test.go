package postgres

// SetAfterSearch makes v run f between Optimize's search and its write (tests only).
func SetAfterSearch(v *Visits, f func()) { v.afterSearch = f }

// LargestCreateBatch is the most creations one of r's batches has carried.
func LargestCreateBatch(r *Reports) int {
	r.batches.mu.Lock()
	defer r.batches.mu.Unlock()
	return r.batches.largest
}
