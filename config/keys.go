package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var configType = reflect.TypeFor[Config]()

// removedKeys explains keys of earlier versions instead of calling them
// unknown.
var removedKeys = map[string]string{
	"reference": "use `sources: [{local: {stratum: N}}]` for `reference: {type: local, stratum: N}` and `sources: []` for `type: none` (docs/configuration.md)",
}

// checkKeys walks the YAML node tree alongside the Go type t and returns
// one error per unknown key, naming its full path and line. It also records,
// for every value node, the key path on its line (to annotate type errors).
// Shape mismatches (a list where a mapping belongs) are left to the decoder,
// which reports them with the line.
func checkKeys(n *yaml.Node, t reflect.Type, path string, lines map[int]string) []error {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		return checkKeys(n.Content[0], t, path, lines)
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if path != "" {
		lines[n.Line] = path
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		fields := yamlFields(t)
		var errs []error
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := join(path, k.Value)
			ft, ok := fields[k.Value]
			if hint, moved := removedKeys[key]; !ok && moved {
				errs = append(errs, fmt.Errorf("%s (line %d): removed: %s", key, k.Line, hint))
				continue
			}
			if !ok {
				errs = append(errs, fmt.Errorf("%s (line %d): unknown key (known keys here: %s)",
					key, k.Line, knownKeys(fields)))
				continue
			}
			lines[k.Line] = key
			errs = append(errs, checkKeys(v, ft, key, lines)...)
		}
		return errs
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		var errs []error
		for i, e := range n.Content {
			errs = append(errs, checkKeys(e, t.Elem(), path+"["+strconv.Itoa(i)+"]", lines)...)
		}
		return errs
	}
	return nil
}

// yamlFields maps the yaml key of each exported field of struct t to the
// field's type.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}

func knownKeys(fields map[string]reflect.Type) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
