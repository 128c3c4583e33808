package track

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // DecodeConfig of JPEG bytes
	"image/png"
)

// LogImage logs an image as step step of the image series key: img is an
// image.Image (encoded as PNG) or the bytes of a PNG or JPEG file. The
// image is stored once by its content, as an artifact is (staged in the
// spool, uploaded in the background, not sent again when the server has
// it), and the series gets the value
//
//	{"sha256": HEX, "size": BYTES, "content_type": "image/png", "width": W, "height": H}
//
// at step: a series of file references, which the dashboard shows with a
// step slider (docs/dashboard.md). The series holds images only. An
// image that cannot be encoded or read is an error of the run (Flush, End).
func (r *Run) LogImage(key string, img any, step int64) {
	if r == nil {
		nilRun("LogImage")
		return
	}
	var data []byte
	switch v := img.(type) {
	case image.Image:
		var buf bytes.Buffer
		if err := png.Encode(&buf, v); err != nil {
			r.fail(fmt.Errorf("track: image %q: %w", key, err))
			return
		}
		data = buf.Bytes()
	case []byte:
		data = v
	default:
		r.fail(fmt.Errorf("track: image %q: %T is neither an image.Image nor PNG or JPEG bytes", key, img))
		return
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "png" && format != "jpeg") {
		r.fail(fmt.Errorf("track: image %q: not a PNG or JPEG image (%v)", key, err))
		return
	}
	j, err := r.stage(key, bytes.NewReader(data))
	if err != nil {
		r.fail(err)
		return
	}
	ctype := "image/" + format
	r.LogResult(key, map[string]any{"sha256": j.sha, "size": j.size, "content_type": ctype, "width": int64(cfg.Width), "height": int64(cfg.Height)}, step)
	// Upload only: the series value above is the record (no artifact
	// record under the run's artifacts, one per step).
	j.name = ""
	j.ctype = ctype
	r.up.add(j)
	r.up.recorded()
}
