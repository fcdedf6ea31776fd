// vbom.ml no longer answers; its sortorder package lives on as github.com/fvbommel/sortorder.
module vbom.ml/util

go 1.12

require github.com/fvbommel/sortorder v1.0.2
