package ingest

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"
)

// Dir is a directory tree of images; every regular file under it is an
// item (symbolic links are not followed).
type Dir string

// Items lists the regular files under d in lexical order.
func (d Dir) Items(ctx context.Context) ([]Item, error) {
	var items []Item
	err := filepath.WalkDir(string(d), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !e.Type().IsRegular() {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		items = append(items, Item{
			Name: p, Size: info.Size(), Modified: info.ModTime(),
			Open: func(context.Context) (io.ReadCloser, error) { return os.Open(p) },
		})
		return nil
	})
	return items, err
}

// Bucket is the objects of an S3 bucket under a prefix.
type Bucket struct {
	Client *minio.Client
	Name   string
	Prefix string
	// Redact removes credentials from an error's text.
	Redact func(error) string
}

// ParseS3URL splits s3://bucket/prefix.
func ParseS3URL(u string) (bucket, prefix string, ok bool) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", false
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	return bucket, prefix, bucket != ""
}

// Items lists the objects under the prefix; directory markers (names
// ending in /) are left out.
func (b Bucket) Items(ctx context.Context) ([]Item, error) {
	var items []Item
	for o := range b.Client.ListObjects(ctx, b.Name, minio.ListObjectsOptions{Prefix: b.Prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("ingest: listing s3://%s/%s: %s", b.Name, b.Prefix, b.Redact(o.Err))
		}
		if strings.HasSuffix(o.Key, "/") {
			continue
		}
		name := o.Key
		items = append(items, Item{
			Name: "s3://" + b.Name + "/" + name, Size: o.Size, Modified: o.LastModified,
			Open: func(ctx context.Context) (io.ReadCloser, error) {
				obj, err := b.Client.GetObject(ctx, b.Name, name, minio.GetObjectOptions{})
				if err != nil {
					return nil, fmt.Errorf("ingest: %s", b.Redact(err))
				}
				return redacting{obj, b.Redact}, nil
			},
		})
	}
	return items, nil
}

// redacting is an object's reader whose errors carry no credentials.
type redacting struct {
	*minio.Object
	redact func(error) string
}

func (r redacting) Read(p []byte) (int, error) {
	n, err := r.Object.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("ingest: %s", r.redact(err))
	}
	return n, err
}
