/* Extracting one layer tar into a directory, as an overlayfs lower layer:
 * OCI whiteouts become overlayfs whiteouts (0:0 character devices) and
 * opaque directories get trusted.overlay.opaque. The tar is hostile: no
 * entry lands outside the directory, no link is followed while extracting,
 * and a hardlink may only point at an entry of the same layer. */
#ifndef HUSK_IMAGE_UNPACK_H
#define HUSK_IMAGE_UNPACK_H

struct archive;
struct hk_err;

enum img_whiteout { IMG_WH_NONE, IMG_WH_FILE, IMG_WH_OPAQUE, IMG_WH_META, IMG_WH_BAD };

/* What an entry's last component means: ".wh..wh..opq" makes its directory
 * opaque, ".wh.NAME" deletes NAME (*target), other ".wh..wh." names are
 * aufs metadata (ignored, as containerd does), ".wh.", ".wh.." and
 * ".wh..." name no entry (the layer is refused); anything else is a file. */
enum img_whiteout img_whiteout_of(const char *base, const char **target);

/* Extract every entry of a (opened) tar archive into rootfd. */
int img_extract(struct archive *a, int rootfd, struct hk_err *err);

#endif
