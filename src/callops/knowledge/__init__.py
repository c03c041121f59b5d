"""Knowledge base (issue 15): articles with a life cycle, Chinese and English search, the answer for the agent,
retrieval evaluation and hot topics. See docs/knowledge.md."""
