// Package sortorder forwards to github.com/fvbommel/sortorder, the same code under the name its author moved
// it to: vbom.ml no longer answers, and Kubernetes 1.16 (which Helm 2 builds on) still imports the old path.
package sortorder

import moved "github.com/fvbommel/sortorder"

// Natural sorts strings in natural order (numbers by value).
type Natural = moved.Natural

// NaturalLess compares two strings in natural order.
func NaturalLess(str1, str2 string) bool { return moved.NaturalLess(str1, str2) }
