package navigator

import (
	"fmt"
	"strings"

	"github.com/kontor-etl/kontor/engine/state"
)

// graph is the pipeline drawn as inline SVG (rendered by the "graph"
// template): the source, the transforms in a row, the sinks stacked at
// the end; counts of a run on each node when given.
type graph struct {
	Width, Height int
	Nodes         []graphNode
	Edges         []graphEdge
}

type graphNode struct {
	X, Y, W, H int
	Title      string // step id
	Type       string
	Detail     string // path, counts
	Counts     string
	Class      string // "node source|transforms|sinks" + " bad" when it rejected
}

type graphEdge struct {
	Path   string // SVG path data
	Label  string
	LX, LY int
}

const (
	nodeW, nodeH = 190, 64
	gapX, gapY   = 56, 22
	margin       = 12
)

// buildGraph lays out the steps; counts (may be nil) are a run's per-step counts.
func buildGraph(steps []graphStep, counts []state.StepCount) *graph {
	if len(steps) == 0 {
		return nil
	}
	byID := map[string]state.StepCount{}
	for _, c := range counts {
		byID[c.Step] = c
	}
	var chain, sinks []graphStep
	for _, s := range steps {
		if s.Section == "sinks" {
			sinks = append(sinks, s)
		} else {
			chain = append(chain, s)
		}
	}
	rows := max(1, len(sinks))
	g := &graph{}
	g.Height = 2*margin + rows*nodeH + (rows-1)*gapY
	midY := g.Height/2 - nodeH/2
	node := func(s graphStep, x, y int) graphNode {
		n := graphNode{X: x, Y: y, W: nodeW, H: nodeH, Title: clip(s.ID, 26), Type: clip(s.Type, 28), Class: "node " + s.Section}
		switch {
		case s.Path != "":
			n.Detail = clip(s.Path, 28)
		case s.When != "":
			n.Detail = "when " + clip(s.When, 23)
		}
		if s.Encrypt {
			n.Detail = "🔒 " + n.Detail
		}
		if c, ok := byID[s.ID]; ok {
			switch s.Section {
			case "source":
				n.Counts = fmt.Sprintf("out %d · rej %d", c.Out, c.Rejected)
			default:
				n.Counts = fmt.Sprintf("in %d · out %d · rej %d", c.In, c.Out, c.Rejected)
			}
			if c.Rejected > 0 {
				n.Class += " bad"
			}
		}
		return n
	}
	x := margin
	for i, s := range chain {
		n := node(s, x, midY)
		g.Nodes = append(g.Nodes, n)
		if i > 0 {
			g.Edges = append(g.Edges, graphEdge{Path: fmt.Sprintf("M%d %d H%d", x-gapX, midY+nodeH/2, x-4)})
		}
		x += nodeW + gapX
	}
	fromX := x - gapX
	for i, s := range sinks {
		y := margin + i*(nodeH+gapY)
		g.Nodes = append(g.Nodes, node(s, x, y))
		e := graphEdge{Path: fmt.Sprintf("M%d %d C%d %d %d %d %d %d", fromX, midY+nodeH/2, fromX+gapX/2, midY+nodeH/2, x-gapX/2, y+nodeH/2, x-4, y+nodeH/2)}
		g.Edges = append(g.Edges, e)
	}
	g.Width = x + nodeW + margin
	return g
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
