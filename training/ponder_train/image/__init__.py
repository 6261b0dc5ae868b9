"""Pictures of the Shapes world: the renderer (render) and moving a picture between
backgrounds (background); beside the engine's Sources/PonderCore/Image."""
