package datasets

import (
	"fmt"
	"sort"
)

// Catalogue is the read-mostly part of a data folder, indexed: the competency graph and
// the resources that serve each competency. It is built once and shared read-only.
type Catalogue struct {
	Competencies []Competency
	Resources    []Resource

	compIndex  map[string]int
	resIndex   map[string]int
	byComp     map[string][]int // competency id -> resource indexes, in catalogue order
	dependents map[string][]string
}

// NewCatalogue indexes competencies and resources. It fails on duplicate ids, on a
// prerequisite or resource competency that does not exist, and on a prerequisite cycle.
func NewCatalogue(comps []Competency, res []Resource) (*Catalogue, error) {
	c := &Catalogue{
		Competencies: comps,
		Resources:    res,
		compIndex:    make(map[string]int, len(comps)),
		resIndex:     make(map[string]int, len(res)),
		byComp:       make(map[string][]int),
		dependents:   make(map[string][]string),
	}
	for i, k := range comps {
		if _, dup := c.compIndex[k.ID]; dup {
			return nil, fmt.Errorf("catalogue: duplicate competency %q", k.ID)
		}
		c.compIndex[k.ID] = i
	}
	for _, k := range comps {
		for _, p := range k.Prerequisites {
			if _, ok := c.compIndex[p]; !ok {
				return nil, fmt.Errorf("catalogue: competency %q: unknown prerequisite %q", k.ID, p)
			}
			c.dependents[p] = append(c.dependents[p], k.ID)
		}
	}
	if err := CheckAcyclic("catalogue", comps, nil, nil); err != nil {
		return nil, err
	}
	for i, r := range res {
		if _, dup := c.resIndex[r.ID]; dup {
			return nil, fmt.Errorf("catalogue: duplicate resource %q", r.ID)
		}
		c.resIndex[r.ID] = i
		for _, k := range r.Competencies {
			if _, ok := c.compIndex[k]; !ok {
				return nil, fmt.Errorf("catalogue: resource %q: unknown competency %q", r.ID, k)
			}
			c.byComp[k] = append(c.byComp[k], i)
		}
	}
	return c, nil
}

// CompetencyIndex returns the position of competency id, and whether it exists.
func (c *Catalogue) CompetencyIndex(id string) (int, bool) {
	i, ok := c.compIndex[id]
	return i, ok
}

// Competency returns the competency with id.
func (c *Catalogue) Competency(id string) (Competency, bool) {
	i, ok := c.compIndex[id]
	if !ok {
		return Competency{}, false
	}
	return c.Competencies[i], true
}

// ResourceIndex returns the position of resource id, and whether it exists.
func (c *Catalogue) ResourceIndex(id string) (int, bool) {
	i, ok := c.resIndex[id]
	return i, ok
}

// Resource returns the resource with id.
func (c *Catalogue) Resource(id string) (Resource, bool) {
	i, ok := c.resIndex[id]
	if !ok {
		return Resource{}, false
	}
	return c.Resources[i], true
}

// ResourcesFor returns the indexes (into Resources) of the resources tagged with
// competency id. The slice is shared: do not modify it.
func (c *Catalogue) ResourcesFor(id string) []int { return c.byComp[id] }

// Dependents returns the competencies that list id as a prerequisite, sorted.
func (c *Catalogue) Dependents(id string) []string {
	d := append([]string(nil), c.dependents[id]...)
	sort.Strings(d)
	return d
}
