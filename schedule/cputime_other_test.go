//go:build !linux

package schedule_test

import "time"

// threadCPU is unavailable here; CPU-time quantiles then read zero.
func threadCPU() time.Duration { return 0 }

// processCPU is unavailable here; CPU-time figures then read zero.
func processCPU() time.Duration { return 0 }
