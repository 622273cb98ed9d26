/**
 * The boot code of a freshly formatted, not (yet) bootable volume: if a BIOS boots it anyway, it
 * prints a message, waits for a key and asks the BIOS for the next boot device (INT 19h). The
 * area is later replaced by a real boot sector, which keeps the BPB (see the Boot step).
 *
 * 16-bit real mode, loaded at 0000:7C00. DS is set to 0 explicitly (rather than copied from CS,
 * as mkfs.fat's stub does) because some BIOSes jump to 07C0:0000 instead of 0000:7C00.
 */

/** Where a boot sector is loaded (linear address 0x7C00). */
const LOAD_ADDRESS = 0x7c00;

const MESSAGE = 'This is not a bootable disk: no boot sector has been installed.\r\nPress any key to try the next boot device ...\r\n';

/**
 * BS_jmpBoot for boot code at `codeOffset`: a short jump (EB rel8) followed by NOP (90), the form
 * the FAT spec lists first ("jmpBoot[0] = 0xEB, jmpBoot[2] = 0x90").
 */
export function bootJump(codeOffset: number): Uint8Array {
  return Uint8Array.of(0xeb, codeOffset - 2, 0x90);
}

/** The stub to place at `codeOffset` of the boot sector (62 on FAT12/16, 90 on FAT32). */
export function notBootableStub(codeOffset: number): Uint8Array {
  const code = [
    0xfc, //              cld
    0x31,
    0xc0, //        xor ax, ax
    0x8e,
    0xd8, //        mov ds, ax
    0xbe,
    0x00,
    0x00, //  mov si, message        (patched below)
    // print:
    0xac, //              lodsb
    0x84,
    0xc0, //        test al, al
    0x74,
    0x0b, //        jz wait_key            (+11)
    0x56, //              push si
    0xb4,
    0x0e, //        mov ah, 0Eh            (teletype output)
    0xbb,
    0x07,
    0x00, //  mov bx, 0007h          (page 0, light grey)
    0xcd,
    0x10, //        int 10h
    0x5e, //              pop si
    0xeb,
    0xf0, //        jmp print              (-16)
    // wait_key:
    0x32,
    0xe4, //        xor ah, ah
    0xcd,
    0x16, //        int 16h                (wait for a key)
    0xcd,
    0x19, //        int 19h                (boot the next device)
    0xeb,
    0xfe, //        hang: jmp hang
  ];
  const messageAddress = LOAD_ADDRESS + codeOffset + code.length;
  code[6] = messageAddress & 0xff;
  code[7] = messageAddress >> 8;
  const text = Array.from(MESSAGE, (c) => c.charCodeAt(0));
  return Uint8Array.from([...code, ...text, 0]);
}
