# Desk check of cuda/xnor_mma.cu without a GPU (not a test; no Python in the test suite):
# replays the kernel's tiling, shared-memory layout, fragment loads and popcount
# correction through the PTX ISA's m16n8k256 .b1 fragment rules, and compares with a
# reference XNOR-popcount GEMM on ragged shapes. It mirrors the kernel's index arithmetic
# as of commit 19e203d by hand: change it with the kernel. Run: python3 scripts/emulate/xnor_mma.py
# Emulates cuda/xnor_mma.cu (both V16 variants) per the PTX m16n8k256 b1 fragment rules.
import random
kBM=kBN=128; kStageWords=8; kRowBytes=80; kThreads=256; kWarpsN=4; kWarpM=64; kWarpN=32; kMT=4; kNT=4; kGroupM=8
M64=(1<<64)-1
def popc(v): return bin(v).count('1')
def run(M,N,K,x,w,xstride,wstride,V16):
    kwords=(K+63)//64
    last_mask=((1<<(K%64))-1) if K%64 else M64
    mt=(M+127)//128; nt=(N+127)//128
    out={}
    for bid in range(mt*nt):
        per_group=kGroupM*nt; grp=bid//per_group; first_m=grp*kGroupM
        gm=min(mt-first_m,kGroupM); in_grp=bid-grp*per_group
        m0=(first_m+in_grp%gm)*kBM; n0=(in_grp//gm)*kBN
        acc={}
        pops=[0]*256
        stages=(kwords+7)//8
        def load(src,r0,rows,stride,k0):
            tile=bytearray(kBM*kRowBytes)
            wp=2 if V16 else 1; perrow=8//wp
            for q in range(kBM*perrow):
                row=q//perrow; part=q%perrow
                gr=r0+row; gk=k0+part*wp
                left=min(kwords-gk,wp)
                if left<0 or gr>=rows: left=0
                for i in range(wp):
                    val=src[gr*stride+gk+i] if i<left else 0
                    off=row*kRowBytes+(part*wp+i)*8
                    tile[off:off+8]=val.to_bytes(8,'little')
            return tile
        for s in range(stages):
            sa=load(x,m0,M,xstride,s*8); sb=load(w,n0,N,wstride,s*8)
            u32=lambda t,o: int.from_bytes(t[o:o+4],'little')
            for ks in range(2):
                for warp in range(8):
                    wm=warp//kWarpsN; wn=warp%kWarpsN
                    # gather lane registers
                    A={};B={}
                    for lane in range(32):
                        g=lane>>2;t=lane&3
                        for i in range(kMT):
                            r=wm*kWarpM+i*16+g
                            lo=r*kRowBytes+ks*32+t*8; hi=(r+8)*kRowBytes+ks*32+t*8
                            A[(lane,i)]=[u32(sa,lo),u32(sa,hi),u32(sa,lo+4),u32(sa,hi+4)]
                        for j in range(kNT):
                            c=wn*kWarpN+j*8+g
                            o=c*kRowBytes+ks*32+t*8
                            B[(lane,j)]=[u32(sb,o),u32(sb,o+4)]
                    for i in range(kMT):
                        for j in range(kNT):
                            # build hardware matrices per PTX
                            Am=[0]*16; Bm=[0]*8
                            for lane in range(32):
                                g=lane>>2;t=lane&3
                                regs=A[(lane,i)]
                                for e in range(128):
                                    bit=(regs[e//32]>>(e%32))&1
                                    row=g if (e<32 or 64<=e<96) else g+8
                                    col=t*32+(e&31)+(128 if e>=64 else 0)
                                    Am[row]|=bit<<col
                                br=B[(lane,j)]
                                for e in range(64):
                                    bit=(br[e//32]>>(e%32))&1
                                    row=t*32+(e&31)+(128 if e>=32 else 0)
                                    Bm[g]|=bit<<row
                            for lane in range(32):
                                g=lane>>2;t=lane&3
                                for e in range(4):
                                    row=g if e<2 else g+8; col=2*t+(e&1)
                                    v=popc(Am[row]&Bm[col])
                                    key=(warp,i,j,lane,e); acc[key]=acc.get(key,0)+v
            for tid in range(256):
                pb=tid>=kBM; pr=tid-kBM if pb else tid
                tile=sb if pb else sa
                for q in range(8):
                    wv=int.from_bytes(tile[pr*80+q*8:pr*80+q*8+8],'little')
                    if s*8+q==kwords-1: wv&=last_mask
                    pops[tid]+=popc(wv)
        for warp in range(8):
            wm=warp//kWarpsN; wn=warp%kWarpsN
            for lane in range(32):
                g=lane>>2;t=lane&3
                for i in range(kMT):
                    for h in range(2):
                        lr=wm*kWarpM+i*16+g+h*8; r=m0+lr
                        if r>=M: continue
                        for j in range(kNT):
                            lc=wn*kWarpN+j*8+2*t; c=n0+lc
                            for e in range(2):
                                if c+e>=N: continue
                                d=K-2*pops[lr]-2*pops[kBM+lc+e]+4*acc.get((warp,i,j,lane,2*h+e),0)
                                assert (r,c+e) not in out
                                out[(r,c+e)]=d
    return out
def ref(M,N,K,x,w,xs,ws):
    kw=(K+63)//64; o={}
    for r in range(M):
        for c in range(N):
            pc=0
            for q in range(kw):
                m=((1<<(K%64))-1) if (q==kw-1 and K%64) else M64
                pc+=popc((x[r*xs+q]^w[c*ws+q])&m)
            o[(r,c)]=K-2*pc
    return o
if __name__=="__main__":
  random.seed(1)
  for (M,N,K,xs_extra) in [(130,129,600,0),(5,140,70,1),(129,3,1153,0)]:
      kw=(K+63)//64; xs=kw+xs_extra; ws=kw
      lm=((1<<(K%64))-1) if K%64 else M64
      x=[random.getrandbits(64) for _ in range(M*xs)]
      w=[random.getrandbits(64) for _ in range(N*ws)]
      for r in range(M): x[r*xs+kw-1]&=lm
      for r in range(N): w[r*ws+kw-1]&=lm
      R=ref(M,N,K,x,w,xs,ws)
      for V16 in ([True,False] if xs%2==0 and ws%2==0 else [False]):
          O=run(M,N,K,x,w,xs,ws,V16)
          assert O==R, (M,N,K,V16)
          print('ok',M,N,K,V16)
