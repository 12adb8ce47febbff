package pdf

import "fmt"

// Page returns the reference and dictionary of page n (1-based), walking the
// page tree (§7.7.3) from the catalog's /Pages.
func (r *Reader) Page(n int) (Ref, Dict, error) {
	_, cat, err := r.Catalog()
	if err != nil {
		return Ref{}, nil, err
	}
	node := cat["Pages"]
	seen := map[int]bool{}
	if n < 1 {
		return Ref{}, nil, fmt.Errorf("pdf: page %d does not exist", n)
	}
	left := n
	for depth := 0; depth < 64; depth++ {
		ref, _ := node.(Ref)
		if seen[ref.Num] {
			return Ref{}, nil, fmt.Errorf("pdf: loop in the page tree")
		}
		seen[ref.Num] = true
		d, err := r.Dict(node)
		if err != nil {
			return Ref{}, nil, err
		}
		if d == nil {
			return Ref{}, nil, fmt.Errorf("pdf: page tree node %d is missing", ref.Num)
		}
		if d.Name("Type") == "Page" || d["Kids"] == nil {
			if left == 1 {
				return ref, d, nil
			}
			return Ref{}, nil, fmt.Errorf("pdf: page %d does not exist", n)
		}
		kids, err := r.Resolve(d["Kids"])
		if err != nil {
			return Ref{}, nil, err
		}
		arr, _ := kids.(Array)
		found := false
		for _, k := range arr {
			kd, err := r.Dict(k)
			if err != nil {
				return Ref{}, nil, err
			}
			count := int64(1)
			if kd.Name("Type") != "Page" && kd["Kids"] != nil {
				c, err := r.Resolve(kd["Count"])
				if err != nil {
					return Ref{}, nil, err
				}
				ci, _ := c.(Integer)
				count = int64(ci)
			}
			if int64(left) <= count {
				node = k
				found = true
				break
			}
			left -= int(count)
		}
		if !found {
			return Ref{}, nil, fmt.Errorf("pdf: page %d does not exist", n)
		}
	}
	return Ref{}, nil, fmt.Errorf("pdf: page tree too deep")
}
