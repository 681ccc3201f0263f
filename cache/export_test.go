package cache

// Wait blocks until every Set so far has been applied.
func (m *Memory) Wait() {
	if m.c != nil {
		m.c.Wait()
	}
}

// Wait blocks until every Set and promotion so far is visible. The disk
// tier needs no wait: its Set has written the file when it returns.
func (t *Tiered) Wait() {
	t.busy.Wait()
	t.mem.Wait()
}

// settle blocks until every Set so far on c is visible to Get.
func settle(c Tier) {
	if w, ok := c.(interface{ Wait() }); ok {
		w.Wait()
	}
}
