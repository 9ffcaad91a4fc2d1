package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/gnomon-time/gnomon/config"
	"github.com/gnomon-time/gnomon/internal/cli"
)

// docBlock is one fenced code block of a Markdown file.
type docBlock struct {
	line int    // 1-based line of the opening fence
	lang string // first word of the info string ("" = untagged)
	body string
}

// fencedBlocks returns the fenced code blocks (``` or ~~~, CommonMark
// style: up to three spaces of indentation, closed by a fence of the same
// character at least as long) of a Markdown document. An unclosed block
// runs to the end of the document.
func fencedBlocks(md string) []docBlock {
	var out []docBlock
	var cur *docBlock
	var fence string
	var body []string
	for i, l := range strings.Split(md, "\n") {
		trimmed := strings.TrimLeft(l, " ")
		if len(l)-len(trimmed) > 3 {
			trimmed = ""
		}
		if cur == nil {
			if f := fenceOf(trimmed); f != "" {
				lang, _, _ := strings.Cut(strings.TrimSpace(trimmed[len(f):]), " ")
				cur, fence, body = &docBlock{line: i + 1, lang: lang}, f, nil
			}
			continue
		}
		if f := fenceOf(trimmed); f != "" && f[0] == fence[0] && len(f) >= len(fence) &&
			strings.TrimSpace(trimmed[len(f):]) == "" {
			cur.body = strings.Join(body, "\n") + "\n"
			out = append(out, *cur)
			cur = nil
			continue
		}
		body = append(body, l)
	}
	if cur != nil {
		cur.body = strings.Join(body, "\n") + "\n"
		out = append(out, *cur)
	}
	return out
}

// fenceOf returns the run of ``` or ~~~ (three or more) that starts s, or "".
func fenceOf(s string) string {
	for _, c := range []byte{'`', '~'} {
		n := 0
		for n < len(s) && s[n] == c {
			n++
		}
		if n >= 3 {
			return s[:n]
		}
	}
	return ""
}

// docExampleProblems checks the configuration examples of the Markdown
// document md (named name in messages): every ```yaml (or ```yml) block is
// a whole configuration file, read as gnomond reads any file (over the
// built-in defaults, so a short example is whole), and must pass `gnomond
// validate`, host checks included. An untagged block whose top level is a
// mapping with a configuration section (ntp:, sources:, …) is an example
// in disguise and must be tagged yaml. Each problem names the file and the
// line of the block's fence; validation messages give lines of the
// Markdown file.
func docExampleProblems(t *testing.T, name, md string) []string {
	t.Helper()
	var problems []string
	for _, b := range fencedBlocks(md) {
		switch strings.ToLower(b.lang) {
		case "yaml", "yml":
			// Leading newlines make the YAML's line numbers the file's.
			f := writeFile(t, "example.yaml", strings.Repeat("\n", b.line)+b.body)
			code, _, errs := runCLI(t, "validate", "--config", f)
			if code != cli.ExitOK {
				problems = append(problems, fmt.Sprintf("%s:%d: this yaml example does not validate (exit %d; lines are %s's):\n%s",
					name, b.line, code, name, strings.ReplaceAll(errs, f, name)))
			}
		case "":
			if s := configSection(b.body); s != "" {
				problems = append(problems, fmt.Sprintf("%s:%d: untagged block with a %s: section looks like a configuration: "+
					"tag it ```yaml so that it is validated", name, b.line, s))
			}
		}
	}
	return problems
}

// configSection returns a top-level key of body that is a section of
// gnomond's configuration, or "" if body is not a YAML mapping with one.
func configSection(body string) string {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(body), &n); err != nil || len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
		return ""
	}
	var sections []string
	t := reflect.TypeFor[config.Config]()
	for i := range t.NumField() {
		sections = append(sections, yamlName(t.Field(i)))
	}
	m := n.Content[0]
	for i := 0; i < len(m.Content); i += 2 {
		if slices.Contains(sections, m.Content[i].Value) {
			return m.Content[i].Value
		}
	}
	return ""
}

// Issue 14: every configuration example in README.md and docs/ is one that
// `gnomond validate` accepts. Examples go through the whole of validate,
// host checks included: one that names an interface or a file must name
// one that every test machine has.
func TestDocsConfigExamples(t *testing.T) {
	root := filepath.Join("..", "..")
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := append([]string{filepath.Join(root, "README.md")}, docs...)
	examples := 0
	for _, p := range files {
		md, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name, _ := filepath.Rel(root, p)
		for _, b := range fencedBlocks(string(md)) {
			if l := strings.ToLower(b.lang); l == "yaml" || l == "yml" {
				examples++
			}
		}
		for _, pr := range docExampleProblems(t, name, string(md)) {
			t.Error(pr)
		}
	}
	if examples == 0 {
		t.Error("no ```yaml example found in README.md or docs/*.md: is the test looking in the right place?")
	}
}

// The check itself: a misspelt key, a bad value, a host problem and an
// untagged configuration fail with the file and line; good examples and
// other blocks pass.
func TestDocExampleProblems(t *testing.T) {
	md := strings.Join([]string{
		"# Title", // 1
		"```yaml", // 2
		"ntp:",    // 3
		"  listen: [\"127.0.0.1:123\"]",
		"```",
		"",
		"```yaml", // 7
		"ntp:",
		"  workerz: 2", // 9
		"```",
		"```yml", // 11
		"leap: {mode: smear}",
		"```",
		"~~~YAML", // 14
		"ntp: {interface: nosuchif0}",
		"~~~",
		"```", // 17
		"sources:",
		"  - local: {stratum: 3}",
		"```",
		"```", // 21
		"$ gnomond validate --config bad.yaml",
		"gnomond: bad.yaml is invalid:",
		"```",
		"```sh", // 25
		"ntp: this is shell",
		"```",
	}, "\n")
	got := docExampleProblems(t, "x.md", md)
	want := [][]string{
		{"x.md:7:", "ntp.workerz (line 9): unknown key"},
		{"x.md:11:", `leap.mode: "smear": a smearing server must learn of leap seconds`},
		{"x.md:14:", `ntp.interface: "nosuchif0": no such network interface`},
		{"x.md:17:", "untagged", "sources:", "tag it ```yaml"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i, w := range want {
		for _, s := range w {
			if !strings.Contains(got[i], s) {
				t.Errorf("problem %d lacks %q:\n%s", i, s, got[i])
			}
		}
	}
}

func TestFencedBlocks(t *testing.T) {
	md := "text\n```yaml  title\na: 1\n```\n" + // fence at line 2
		"   ~~~~\n```\n~~~\nb\n   ~~~~~\n" + // at 5: indented, closed by a longer fence only
		"    ```yaml\nindented code, not a fence\n" +
		"```sh\nunclosed\n"
	want := []docBlock{
		{line: 2, lang: "yaml", body: "a: 1\n"},
		{line: 5, lang: "", body: "```\n~~~\nb\n"},
		{line: 12, lang: "sh", body: "unclosed\n\n"},
	}
	if diff := cmp.Diff(want, fencedBlocks(md), cmp.AllowUnexported(docBlock{})); diff != "" {
		t.Errorf("fencedBlocks (-want +got):\n%s", diff)
	}
}
