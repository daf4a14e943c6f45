package navigator

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// pipelineFile is a pipeline YAML found under --pipelines, read only as
// far as the navigator needs it (name, schedule, steps for the graph):
// it is not validated, so a file that fails lint is still drawn.
type pipelineFile struct {
	Name        string
	File        string // path as found (below the pipelines directory)
	SHA256      string
	Description string
	Schedule    string
	Steps       []graphStep
}

// graphStep is one step of the pipeline graph.
type graphStep struct {
	ID      string // name: or "source", "transforms[i]", "sinks[i]" (as in run counts)
	Type    string
	Section string
	Path    string
	When    string
	Encrypt bool
}

type rawStep struct {
	Type    string    `yaml:"type"`
	Name    string    `yaml:"name"`
	Path    string    `yaml:"path"`
	When    string    `yaml:"when"`
	Encrypt yaml.Node `yaml:"encrypt"`
}

type rawPipeline struct {
	Name        string    `yaml:"name"`
	Description string    `yaml:"description"`
	Schedule    string    `yaml:"schedule"`
	Source      *rawStep  `yaml:"source"`
	Transforms  []rawStep `yaml:"transforms"`
	Sinks       []rawStep `yaml:"sinks"`
}

// parsePipeline reads the parts of a pipeline file the navigator shows.
// ok is false when the file is not a pipeline (no source or no sinks).
func parsePipeline(file string, data []byte) (pipelineFile, bool) {
	var raw rawPipeline
	if err := yaml.Unmarshal(data, &raw); err != nil || raw.Source == nil || len(raw.Sinks) == 0 {
		return pipelineFile{}, false
	}
	sum := sha256.Sum256(data)
	base := filepath.Base(file)
	p := pipelineFile{Name: raw.Name, File: file, SHA256: hex.EncodeToString(sum[:]), Description: raw.Description, Schedule: raw.Schedule}
	if p.Name == "" {
		p.Name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	add := func(s rawStep, section, id string) {
		if s.Name != "" {
			id = s.Name
		}
		p.Steps = append(p.Steps, graphStep{ID: id, Type: s.Type, Section: section, Path: s.Path, When: s.When, Encrypt: !s.Encrypt.IsZero()})
	}
	add(*raw.Source, "source", "source")
	for i, s := range raw.Transforms {
		add(s, "transforms", "transforms["+itoa(i)+"]")
	}
	for i, s := range raw.Sinks {
		add(s, "sinks", "sinks["+itoa(i)+"]")
	}
	return p, true
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + itoa(i%10)
}

// scanPipelines finds the pipeline files under dir (recursively; *.yaml
// and *.yml except *_test.yaml and testdata directories). The first file
// wins when two declare the same name.
func scanPipelines(dir string) map[string][]pipelineFile {
	out := map[string][]pipelineFile{}
	if dir == "" {
		return out
	}
	var files []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if path != dir && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		n := d.Name()
		if (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) && !strings.HasSuffix(strings.TrimSuffix(n, filepath.Ext(n)), "_test") {
			files = append(files, path)
		}
		return nil
	})
	sort.Strings(files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil || len(data) > 4<<20 {
			continue
		}
		if p, ok := parsePipeline(f, data); ok {
			out[p.Name] = append(out[p.Name], p)
		}
	}
	return out
}
