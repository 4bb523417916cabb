"""Pages as images: safe PDF drawing, preprocessing (deskew, denoise), the model's token
budget and the shared cache of rendered images."""
