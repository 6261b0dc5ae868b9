"""The Shapes world's language (docs/world.md, docs/plan.md): its words and validity rules
(world), the prompt parser (prompt) and the plan's text form (plan); the Python side of the
engine's Sources/PonderCore/Language."""
