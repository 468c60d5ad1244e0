import { describe, expect, it } from 'vitest';
import { folderPreview, splitCode, splitName } from './dataset';

// The same cases as tests/dataset/test_dataset.c folder_codes_come_off_the_name:
// the preview must say what the server will do.
describe('folder codes', () => {
  it('a code then the name gives both', () => {
    const yes: [string, string, string, string][] = [
      ['1234_Ana_Garcia', '1234', 'Ana', 'Garcia'],
      ['1234 - Ana García', '1234', 'Ana', 'García'],
      ['1234 \u2013 Ana García', '1234', 'Ana', 'García'],
      ['  0042   María José Núñez ', '0042', 'María José', 'Núñez'],
      ['A002_Núñez García, María José', 'A002', 'María José', 'Núñez García'],
      ['S17-Bob', 'S17', 'Bob', ''],
      ['1234_' + 'María José Núñez'.normalize('NFD'), '1234', 'María José', 'Núñez'],
    ];
    for (const [folder, code, first, last] of yes) expect(splitCode(folder)).toEqual({ code, first, last });
  });
  it('any other folder is not split', () => {
    const no = [
      'Ana García',
      'María José Núñez',
      '1234',
      '1234_',
      '1234 - ',
      '2024-015',
      '2024-015 Ana',
      '12 34',
      'Ana_Garcia',
      '_1234 Ana',
      '1'.repeat(64) + ' Ana',
    ];
    for (const folder of no) expect(splitCode(folder)).toBeNull();
  });
  it('names split as the server splits them', () => {
    expect(splitName('María José Núñez')).toEqual({ first: 'María José', last: 'Núñez' });
    expect(splitName('Núñez García, María José')).toEqual({ first: 'María José', last: 'Núñez García' });
    expect(splitName('S0042')).toEqual({ first: 'S0042', last: '' });
    expect(splitName('  ')).toBeNull();
  });
  it('the preview lists each person folder with its code, name and photos; off, the folder name is the code', () => {
    const paths = [
      '1234_Ana_Garcia/1.jpg',
      '1234_Ana_Garcia/2.png',
      'María José Núñez/1.jpg',
      'notes.txt',
      '1234_Ana_Garcia/clip.mov',
      'x/y/3.jpg',
    ];
    expect(folderPreview(paths, true)).toEqual([
      { folder: '1234_Ana_Garcia', code: '1234', name: 'Ana Garcia', photos: 2 },
      { folder: 'María José Núñez', code: 'María José Núñez', name: 'María José Núñez', photos: 1 },
    ]);
    expect(folderPreview(paths, false)[0]).toEqual({
      folder: '1234_Ana_Garcia',
      code: '1234_Ana_Garcia',
      name: '1234_Ana_Garcia',
      photos: 2,
    });
  });
});
