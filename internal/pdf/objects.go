package pdf

import (
	"fmt"
	"slices"
)

// Objects calls fn once for each object the file defines, in this order:
//
//   - the current version of every object number the cross-reference
//     data marks in use, in increasing order;
//   - every earlier version that a later section replaced or freed (what
//     an earlier revision shows, §7.5.6);
//   - every object inside an object stream found among those (§7.5.7)
//     that is not already the current version of its number, e.g. the
//     contents of a superseded object stream or entries no
//     cross-reference section lists.
//
// Objects are parsed without following their references: a caller that
// inspects each one inspects every object of the file once. Iteration
// stops at the first error, from fn or from an object that does not parse
// (a [*BudgetError] included).
func (r *Reader) Objects(fn func(num int, o Object) error) error {
	nums := make([]int, 0, len(r.xref))
	for n, e := range r.xref {
		if e.kind != entryFree {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	for _, n := range nums {
		o, err := r.Resolve(Ref{Num: n, Gen: r.Generation(n)})
		if err != nil {
			return err
		}
		if err := r.visit(n, o, true, fn); err != nil {
			return err
		}
	}
	for _, s := range r.superseded {
		o, err := r.loadEntry(s.num, s.entry)
		if err != nil {
			return fmt.Errorf("pdf: earlier version of object %d: %w", s.num, err)
		}
		if err := r.visit(s.num, o, false, fn); err != nil {
			return err
		}
	}
	return nil
}

// visit calls fn for o and, when o is an object stream, for the objects
// inside it that the cross-reference data does not already name there.
func (r *Reader) visit(num int, o Object, current bool, fn func(int, Object) error) error {
	if err := fn(num, o); err != nil {
		return err
	}
	s, ok := o.(*Stream)
	if !ok || s.Dict.Name("Type") != "ObjStm" {
		return nil
	}
	var stm *objStm
	var err error
	if current {
		stm, err = r.objectStream(num)
	} else {
		stm, err = r.parseObjStm(num, s)
	}
	if err != nil {
		return fmt.Errorf("pdf: object stream %d: %w", num, err)
	}
	for i, n := range stm.nums {
		if current && r.xref[n] == (xrefEntry{kind: entryCompressed, off: int64(num), gen: i}) {
			continue // visited as the current version of n
		}
		obj, err := r.objStmObject(stm, i)
		if err != nil {
			return fmt.Errorf("pdf: object %d in object stream %d: %w", n, num, err)
		}
		if err := fn(n, obj); err != nil {
			return err
		}
	}
	return nil
}
