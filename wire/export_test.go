package wire

// TagTestPing is a message tag registered for the tests of the generic
// message plumbing only: the test binary's registry has it, a build's does
// not. It has two versions so that Unmarshal's refusal of a non-current one
// can be tested.
const TagTestPing Tag = MaxMessageTag

func init() {
	registry[TagTestPing] = format{name: "test-ping", versions: []uint16{1, 2}}
}
