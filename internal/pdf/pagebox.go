package pdf

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// A PageBox is the visible area of one page: its crop box (§14.11.2),
// which defaults to the media box, intersected with the media box, in
// default user space units (points), and the page's rotation.
type PageBox struct {
	// Left, Bottom, Right and Top are the box's edges in the page's user
	// space (Left < Right, Bottom < Top).
	Left, Bottom, Right, Top float64
	// Rotate is the clockwise rotation of the page when shown: 0, 90, 180
	// or 270.
	Rotate int
}

// Width is the box's horizontal extent, before rotation.
func (b PageBox) Width() float64 { return b.Right - b.Left }

// Height is the box's vertical extent, before rotation.
func (b PageBox) Height() float64 { return b.Top - b.Bottom }

// ErrPageLimit means a document has more pages than [Reader.PageBoxes]
// was allowed to read.
var ErrPageLimit = errors.New("pdf: too many pages")

// maxBoxTreeDepth bounds the page tree walk of [Reader.PageBoxes].
const maxBoxTreeDepth = 64

// maxBoxSide bounds a box's coordinates: ISO 32000-1 Annex C limits a
// page to 14,400 units a side (at the default unit); a box beyond a
// generous multiple of it is refused as malformed.
const maxBoxSide = 1e6

// PageBoxes returns the box of every page, in page order, walking the
// page tree from the catalog's /Pages with the inheritable attributes
// /MediaBox, /CropBox and /Rotate (§7.7.3.4). It refuses loops, missing
// nodes, a tree deeper than 64 levels, a page without a valid media box,
// and more than max pages ([ErrPageLimit]).
func (r *Reader) PageBoxes(max int) ([]PageBox, error) {
	_, cat, err := r.Catalog()
	if err != nil {
		return nil, err
	}
	w := boxWalker{r: r, max: max, seen: map[int]bool{}}
	if err := w.walk(cat["Pages"], inherited{}, 0); err != nil {
		return nil, err
	}
	if len(w.out) == 0 {
		return nil, errors.New("pdf: the document has no pages")
	}
	return w.out, nil
}

// inherited are the attributes a page tree node passes to its kids.
type inherited struct {
	media, crop Object
	rotate      Object
}

type boxWalker struct {
	r    *Reader
	max  int
	seen map[int]bool
	out  []PageBox
}

func (w *boxWalker) walk(node Object, in inherited, depth int) error {
	if depth > maxBoxTreeDepth {
		return errors.New("pdf: page tree too deep")
	}
	ref, ok := node.(Ref)
	if !ok {
		return errors.New("pdf: page tree node is not an indirect reference")
	}
	if w.seen[ref.Num] {
		return fmt.Errorf("pdf: loop in the page tree at object %d", ref.Num)
	}
	w.seen[ref.Num] = true
	d, err := w.r.Dict(node)
	if err != nil {
		return err
	}
	if d == nil {
		return fmt.Errorf("pdf: page tree node %d is missing", ref.Num)
	}
	if v, ok := d["MediaBox"]; ok {
		in.media = v
	}
	if v, ok := d["CropBox"]; ok {
		in.crop = v
	}
	if v, ok := d["Rotate"]; ok {
		in.rotate = v
	}
	if d.Name("Type") == "Page" || d["Kids"] == nil {
		if len(w.out) >= w.max {
			return ErrPageLimit
		}
		b, err := w.box(in)
		if err != nil {
			return fmt.Errorf("pdf: page %d: %w", len(w.out)+1, err)
		}
		w.out = append(w.out, b)
		return nil
	}
	kids, err := w.r.Resolve(d["Kids"])
	if err != nil {
		return err
	}
	arr, ok := kids.(Array)
	if !ok {
		return fmt.Errorf("pdf: page tree node %d has no /Kids array", ref.Num)
	}
	for _, k := range arr {
		if err := w.walk(k, in, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// box resolves a page's inherited attributes into its box.
func (w *boxWalker) box(in inherited) (PageBox, error) {
	if in.media == nil {
		return PageBox{}, errors.New("no /MediaBox")
	}
	media, err := w.rect(in.media)
	if err != nil {
		return PageBox{}, fmt.Errorf("/MediaBox: %w", err)
	}
	b := media
	if in.crop != nil {
		// A crop box that cannot be read, or lies outside the media
		// box, is ignored as viewers do: the media box is shown.
		if crop, err := w.rect(in.crop); err == nil {
			c := PageBox{
				Left: math.Max(crop.Left, media.Left), Bottom: math.Max(crop.Bottom, media.Bottom),
				Right: math.Min(crop.Right, media.Right), Top: math.Min(crop.Top, media.Top),
			}
			if c.Left < c.Right && c.Bottom < c.Top {
				b = c
			}
		}
	}
	if in.rotate != nil {
		o, err := w.r.Resolve(in.rotate)
		if err != nil {
			return PageBox{}, err
		}
		n, ok := o.(Integer)
		if !ok || n%90 != 0 {
			return PageBox{}, errors.New("/Rotate is not a multiple of 90")
		}
		b.Rotate = int(((n % 360) + 360) % 360)
	}
	return b, nil
}

// rect reads a rectangle (§7.9.5): four numbers, any two opposite corners.
func (w *boxWalker) rect(o Object) (PageBox, error) {
	v, err := w.r.Resolve(o)
	if err != nil {
		return PageBox{}, err
	}
	arr, ok := v.(Array)
	if !ok || len(arr) != 4 {
		return PageBox{}, errors.New("not an array of four numbers")
	}
	var n [4]float64
	for i, e := range arr {
		e, err := w.r.Resolve(e)
		if err != nil {
			return PageBox{}, err
		}
		f, ok := number(e)
		if !ok || math.Abs(f) > maxBoxSide {
			return PageBox{}, errors.New("not an array of four numbers")
		}
		n[i] = f
	}
	b := PageBox{Left: math.Min(n[0], n[2]), Bottom: math.Min(n[1], n[3]), Right: math.Max(n[0], n[2]), Top: math.Max(n[1], n[3])}
	if b.Left == b.Right || b.Bottom == b.Top {
		return PageBox{}, errors.New("empty rectangle")
	}
	return b, nil
}

// number returns o as a float if it is an Integer or a finite Real.
func number(o Object) (float64, bool) {
	switch x := o.(type) {
	case Integer:
		return float64(x), true
	case Real:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}
