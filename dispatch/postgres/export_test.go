package postgres

// SetAfterSearch makes v run f between Optimize's search and its write (tests only).
func SetAfterSearch(v *Visits, f func()) { v.afterSearch = f }
