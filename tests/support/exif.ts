import sharp from 'sharp';

/**
 * A phone photo as phones write them: a JPEG whose stored top half is red and bottom half blue,
 * EXIF orientation `orientation`, and EXIF GPS (IFD3: latitude and longitude of a place) plus the
 * camera's make.
 */
export function gpsPhoto(width: number, height: number, orientation: number): Promise<Buffer> {
  const half = Math.round(height / 2);
  return sharp({ create: { width, height, channels: 3, background: '#0000ff' } })
    .composite([{ input: { create: { width, height: half, channels: 3, background: '#ff0000' } }, top: 0, left: 0 }])
    .jpeg()
    .withMetadata({ orientation })
    .withExifMerge({
      IFD0: { Make: 'PhonyPhone' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '55/1 45/1 1234/100', GPSLongitudeRef: 'E', GPSLongitude: '37/1 37/1 0/1' },
    })
    .toBuffer();
}

/**
 * Whether an EXIF block (sharp's `metadata().exif`: "Exif\0\0" then a TIFF structure) has a GPS
 * IFD: IFD0 holds the GPSInfo tag (0x8825) that points to it. Read from the structure, not by
 * searching bytes, so a value that happens to contain the tag's bytes does not count.
 */
export function hasGpsIfd(exif: Buffer): boolean {
  const tiff = exif.subarray(exif.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? 6 : 0);
  const little = tiff.subarray(0, 2).toString('latin1') === 'II';
  const u16 = (at: number) => (little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  const ifd0 = u32(4);
  const entries = u16(ifd0);
  for (let i = 0; i < entries; i++) {
    if (u16(ifd0 + 2 + i * 12) === 0x8825) return true;
  }
  return false;
}
