"""Customer value (issue 11): profile features, the value model, CLV, tags, strategies and decisions."""
