"""Jobs over many documents: the store, the folder watcher, batch runs, Ray, eval, training."""
