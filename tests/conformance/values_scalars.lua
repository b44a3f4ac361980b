return { i = 42, neg = -7, f = 2.5, s = "héllo ✓", yes = true, no = false }
